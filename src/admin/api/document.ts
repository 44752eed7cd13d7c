/**
 * The config document as the admin API edits it: the text running now
 * (gateway.source: the file's YAML, or the JSON of the last API change) read
 * as data, changed one section item at a time, and written back as JSON,
 * which the loader reads ~100x faster than YAML (a 1,000-consumer config:
 * ~1 s of YAML parsing per write before); what an answer shows of it
 * (secrets masked by the schemas, ${env:...} and ${file:...} references kept
 * as written); ETags; and the "[secret]" stand-ins of a document sent back
 * filled in from the running one.
 */
import { createHash, createHmac } from 'node:crypto';
import { isMap, parseDocument, stringify } from 'yaml';
import type { Config } from '../../config/schema.js';
import type { PolicySchemas } from '../../config/types.js';
import { configView } from '../../telemetry/audit/index.js';
import { MASK, Masked } from '../../telemetry/audit/view.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A text the API could not read as a config document: a 400 with this message. */
export class DocumentError extends Error {}

/** A request the API refuses before trying it: a 400 with this message (`path: message`). */
export class BadRequest extends Error {}

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The last text read and its data: GETs read the running text again and again; YAML is slow to parse. */
let last: { text: string; data: JsonObject } | undefined;

/**
 * The data of a config text (JSON, or YAML); refuses what is not one
 * mapping. The answer may be shared with other callers: never change it
 * (editable() gives a copy).
 */
export function readData(text: string): JsonObject {
  if (last?.text === text) return last.data;
  let data: unknown;
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (data === undefined) {
    const doc = parseDocument(text, { uniqueKeys: true });
    if (doc.errors.length > 0) throw new DocumentError(`not YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    if (doc.contents !== null && !isMap(doc.contents)) throw new DocumentError('a config document is a mapping');
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  }
  if (!isObject(data)) throw new DocumentError('a config document is a mapping');
  last = { text, data };
  return data;
}

/** A copy of a text's data to change. */
export function editable(text: string): JsonObject {
  return structuredClone(readData(text));
}

/** The text the API hands to the loader: JSON (a YAML document too), one value per line for readable diffs of stored versions. */
export function writeData(data: JsonObject): string {
  return `${JSON.stringify(data, null, 1)}\n`;
}

/** The items of a top-level list ([] when absent or not a list). */
export function listOf(data: JsonObject, section: string): JsonObject[] {
  const list = data[section];
  return Array.isArray(list) ? list.filter(isObject) : [];
}

export function indexByName(data: JsonObject, section: string, name: string): number {
  const list = data[section];
  return Array.isArray(list) ? list.findIndex((item) => isObject(item) && item.name === name) : -1;
}

/** Sets, adds (index undefined) or removes (value undefined) an item of a top-level list. */
export function editList(data: JsonObject, section: string, index: number | undefined, value: Json | undefined): void {
  const list = Array.isArray(data[section]) ? data[section] : (data[section] = []);
  if (index === undefined) {
    if (value !== undefined) list.push(value);
  } else if (value === undefined) list.splice(index, 1);
  else list[index] = value;
}

/** The admin section is the file's: whatever a document sent to the API says of it, the running one's is kept. */
export function keepAdminSection(data: JsonObject, running: JsonObject): void {
  if (running.admin === undefined) delete data.admin;
  else data.admin = structuredClone(running.admin);
}

const REFERENCE = /^\$\{(env|file):[^}]+\}$/;

/** Masked values back to references where the text held a reference (not a secret: a name). */
function keepReferences(raw: unknown, view: unknown): unknown {
  if (view instanceof Masked) return typeof raw === 'string' && REFERENCE.test(raw) ? raw : view;
  if (Array.isArray(view)) return view.map((v, i) => keepReferences(Array.isArray(raw) ? (raw as unknown[])[i] : undefined, v));
  if (view !== null && typeof view === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(view)) out[k] = keepReferences(isObject(raw) ? raw[k] : undefined, v);
    return out;
  }
  return view;
}

/**
 * What an answer may show of a document: every value a schema marks secret
 * as "[secret]" (the audit trail's masking: the top-level schema and each
 * policy's settings and credential schemas), references as written.
 */
export function masked(data: JsonObject, policies: ReadonlyMap<string, PolicySchemas>): JsonObject {
  const view = keepReferences(data, configView(data as unknown as Config, policies));
  return JSON.parse(JSON.stringify(view)) as JsonObject;
}

/** The masked view with Masked kept (for diffs: a changed secret shows as changed). */
export function maskedView(data: JsonObject, policies: ReadonlyMap<string, PolicySchemas>): unknown {
  return keepReferences(data, configView(data as unknown as Config, policies));
}

/** Masked document as YAML: what `config dump` prints and the versions show. */
export function maskedYaml(data: JsonObject, policies: ReadonlyMap<string, PolicySchemas>): string {
  return stringify(masked(data, policies), { lineWidth: 0 });
}

/** An ETag: an HMAC of the value under the node's key (a plain hash of a resource would let its secrets be guessed offline). */
export function etagOf(key: Buffer, value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `"${createHmac('sha256', key).update(text).digest('base64url').slice(0, 27)}"`;
}

/** A credential's fingerprint: stable on this node, and no use for testing a guess of the secret without its key. */
export function fingerprintOf(key: Buffer, credential: unknown): string {
  return `hmac-sha256:${createHmac('sha256', key).update('credential\0').update(JSON.stringify(credential)).digest('base64url').slice(0, 22)}`;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Fills each "[secret]" of `next` from the same place of `current` (lists of
 * named things matched by name, others by position), so a document read from
 * the API (secrets masked) can be sent back. Returns the paths of stand-ins
 * with nothing to fill them from: the caller refuses them, so "[secret]" is
 * never taken for a secret's value.
 */
export function restoreSecrets(next: Json, current: Json | undefined, path: string, unfilled: string[]): Json {
  if (next === MASK) {
    if (current === undefined || current === MASK) unfilled.push(path || '(root)');
    return current ?? next;
  }
  if (Array.isArray(next)) {
    const named = next.every((n) => isObject(n) && typeof n.name === 'string');
    return next.map((item, i) => {
      let before: Json | undefined;
      if (Array.isArray(current)) before = named && isObject(item) ? current.find((c) => isObject(c) && c.name === item.name) : current[i];
      return restoreSecrets(item, before, `${path}[${i}]`, unfilled);
    });
  }
  if (isObject(next)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(next)) out[k] = restoreSecrets(v, isObject(current) ? current[k] : undefined, path ? `${path}.${k}` : k, unfilled);
    return out;
  }
  return next;
}
