/**
 * The config document as the admin API edits it: the YAML text running now
 * (gateway.source), parsed with its comments kept, changed one section item
 * at a time, and printed back; what an answer shows of it (secrets masked by
 * the schemas, ${env:...} and ${file:...} references kept as written); ETags;
 * and the "[secret]" stand-ins of a document sent back filled in from the
 * running one.
 */
import { createHash, createHmac } from 'node:crypto';
import { isMap, isSeq, parseDocument, stringify, type Document } from 'yaml';
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

/** Parses YAML (or JSON) text into an editable document; refuses what is not one mapping. */
export function parseDoc(text: string): Document {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new DocumentError(`not YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  if (doc.contents !== null && !isMap(doc.contents)) throw new DocumentError('a config document is a mapping');
  return doc;
}

export function dataOf(doc: Document): JsonObject {
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  return isObject(data) ? data : {};
}

export function printDoc(doc: Document): string {
  return doc.toString({ lineWidth: 0 });
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

/** Sets, adds (index undefined) or removes (value undefined) an item of a top-level list, leaving the rest of the text as it was. */
export function editList(doc: Document, section: string, index: number | undefined, value: Json | undefined): void {
  if (!isSeq(doc.get(section))) {
    if (value === undefined) return;
    doc.set(section, doc.createNode([value]));
    return;
  }
  if (index === undefined) doc.addIn([section], doc.createNode(value));
  else if (value === undefined) doc.deleteIn([section, index]);
  else doc.setIn([section, index], doc.createNode(value));
}

/** The admin section is the file's: whatever a document sent to the API says of it, the running one's is kept. */
export function keepAdminSection(doc: Document, running: Document): void {
  const admin = running.get('admin', true);
  if (admin === undefined) doc.delete('admin');
  else doc.set('admin', admin);
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
