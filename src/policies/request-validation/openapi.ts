/**
 * OpenAPI 3.0 and 3.1: a description becomes, once per config snapshot, a
 * table of operations (path template × method) with validators for their
 * path, query, header and cookie parameters and their request bodies. 3.0
 * schemas are converted to JSON Schema (nullable, boolean exclusive bounds);
 * 3.1 schemas are JSON Schema 2020-12 already. Local $refs (#/...) are
 * resolved; a description that needs external files is refused at load
 * with a hint to bundle it first.
 *
 * Kept hand-written rather than resolving with @apidevtools/json-schema-ref-
 * parser (measured against issue 11, item 6; checked 2026-12):
 * - Security: the library's default resolvers read any path a $ref names
 *   (absolute, ../, file://) and fetch http(s) URLs. Confining it to the
 *   spec's folder means turning http off and writing our own file resolver
 *   (realpath, containment check against symlinks), i.e. owning the
 *   security-relevant part anyway. Here no $ref reads a file or the network
 *   at all: Parameter / Request Body / Path Item $refs outside the document
 *   are refused below, schema $refs by Ajv, which loads no schema itself
 *   (request-validation.test.ts, "refuses a description split over several
 *   files", checks both, with a local HTTP server that must see no request).
 * - It is async only; policies compile synchronously (validate, reload
 *   beside the running snapshot). Bundling at load would need an async step
 *   before compile, which belongs with the compiler's move (item 1).
 * - The spec reaches the policy as text (${file:openapi.yaml} inlines it),
 *   so there is no folder to anchor relative $refs to without a new setting.
 * - Its current major (16) needs Node >= 22.19; 15.x is the last for Node 20,
 *   and it brings js-yaml beside the yaml package the gateway already uses.
 * Operators bundle offline instead (`swagger-cli bundle` runs that same
 * library; `redocly bundle`), where reading neighbouring files is wanted.
 */
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../../config/errors.js';
import { createAjv, describeErrors, type Draft, type ValidateFunction } from './json-schema.js';
import { pathSegmentReadings } from '../../lib/query.js';

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  array: boolean;
  /** style=form, explode=false: a,b,c in one value */
  commaSeparated: boolean;
  /** style=deepObject (an object schema in the query): name[key]=value pairs */
  deepObject: boolean;
}

interface BodyMedia {
  type: string;
  validate: ValidateFunction | undefined;
  kind: 'json' | 'form' | 'other';
}

export interface Operation {
  readonly method: string;
  readonly template: string;
  readonly parameters: readonly Parameter[];
  /** One validator per location, over an object of that location's parameters. */
  readonly validators: Partial<Record<Parameter['in'], ValidateFunction>>;
  readonly bodyRequired: boolean;
  /** undefined: the operation declares no request body. */
  readonly media: readonly BodyMedia[] | undefined;
}

interface PathEntry {
  readonly template: string;
  /** Literal segments as strings, parameters as { name }. */
  readonly segments: ReadonlyArray<string | { name: string }>;
  readonly literals: number;
  readonly operations: ReadonlyMap<string, Operation>;
}

export type Lookup =
  | { kind: 'operation'; operation: Operation; params: Map<string, string[]> }
  | { kind: 'no-path' }
  | { kind: 'no-method'; allowed: string[] };

export interface OpenApiConfig {
  spec: string | Record<string, unknown>;
  base_path?: string;
  strict: boolean;
  validate_body: boolean;
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const DOCUMENT_ID = 'openapi.json';

function pointerGet(doc: unknown, ref: string): unknown {
  if (ref.startsWith(`${DOCUMENT_ID}#`)) ref = ref.slice(DOCUMENT_ID.length);
  if (!ref.startsWith('#')) throw new ConfigError(`$ref ${JSON.stringify(ref)} points outside the document; only local references (#/...) are supported: bundle the description into one file first`, ['openapi', 'spec']);
  let node: unknown = doc;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (!isObject(node) && !Array.isArray(node)) return undefined;
    node = (node as Json)[key];
  }
  return node;
}

/** Follows $ref chains of Parameter, Request Body and Path Item objects. */
function deref(doc: unknown, value: unknown): unknown {
  let node = value;
  for (let hops = 0; isObject(node) && typeof node.$ref === 'string'; hops++) {
    if (hops > 32) throw new ConfigError(`$ref ${JSON.stringify(node.$ref)} loops`, ['openapi', 'spec']);
    const target = pointerGet(doc, node.$ref);
    if (target === undefined) throw new ConfigError(`$ref ${JSON.stringify(node.$ref)} points at nothing`, ['openapi', 'spec']);
    node = target;
  }
  return node;
}

/**
 * A deep copy with every local $ref made absolute against `id`, and (for
 * 3.0) nullable and boolean exclusiveMinimum/Maximum turned into JSON Schema.
 */
function prepare(node: unknown, id: string, openapi30: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => prepare(n, id, openapi30));
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) out[key] = key === 'example' || key === 'examples' ? value : prepare(value, id, openapi30);
  if (typeof out.$ref === 'string' && out.$ref.startsWith('#')) out.$ref = `${id}${out.$ref}`;
  if (openapi30) {
    if (out.nullable === true) {
      if (typeof out.type === 'string') out.type = [out.type, 'null'];
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...(out.enum as unknown[]), null];
    }
    delete out.nullable;
    if (out.exclusiveMinimum === true && typeof out.minimum === 'number') {
      out.exclusiveMinimum = out.minimum;
      delete out.minimum;
    } else if (typeof out.exclusiveMinimum === 'boolean') delete out.exclusiveMinimum;
    if (out.exclusiveMaximum === true && typeof out.maximum === 'number') {
      out.exclusiveMaximum = out.maximum;
      delete out.maximum;
    } else if (typeof out.exclusiveMaximum === 'boolean') delete out.exclusiveMaximum;
  }
  return out;
}

function loadDocument(spec: OpenApiConfig['spec']): Json {
  let doc: unknown = spec;
  if (typeof spec === 'string') {
    try {
      doc = parseYaml(spec, { maxAliasCount: 100 });
    } catch (err) {
      throw new ConfigError(`the OpenAPI description does not parse as YAML or JSON: ${(err as Error).message.split('\n')[0]}`, ['openapi', 'spec']);
    }
  }
  if (!isObject(doc) || typeof doc.openapi !== 'string' || !isObject(doc.paths)) {
    throw new ConfigError('expected an OpenAPI 3.0 or 3.1 description with "openapi" and "paths" (Swagger 2.0 is not supported)', ['openapi', 'spec']);
  }
  if (!/^3\.[01]\./.test(doc.openapi)) throw new ConfigError(`OpenAPI ${doc.openapi} is not supported; use 3.0.x or 3.1.x`, ['openapi', 'spec']);
  return doc;
}

function basePathOf(doc: Json, configured: string | undefined): string {
  if (configured !== undefined) return trimSlashes(configured);
  const servers = doc.servers;
  if (!Array.isArray(servers) || !isObject(servers[0]) || typeof servers[0].url !== 'string') return '';
  const url = servers[0].url;
  let path: string;
  try {
    path = url.startsWith('/') ? url : new URL(url).pathname;
  } catch {
    return '';
  }
  if (path.includes('{')) return '';
  return trimSlashes(path);
}

function trimSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.slice(0, end);
}

function parseTemplate(template: string): PathEntry['segments'] {
  return template
    .split('/')
    .slice(1)
    .map((segment) => {
      const m = /^\{([^{}]+)\}$/.exec(segment);
      return m ? { name: m[1]! } : segment;
    });
}

function mediaKind(type: string): BodyMedia['kind'] {
  const t = type.toLowerCase();
  if (t === 'application/json' || t.endsWith('+json') || t === '*/*' || t === 'application/*') return t.includes('*') ? 'other' : 'json';
  if (t === 'application/x-www-form-urlencoded') return 'form';
  return 'other';
}

export class OpenApiModel {
  private readonly entries: PathEntry[] = [];
  readonly basePath: string;
  readonly strict: boolean;
  readonly draft: Draft;

  constructor(config: OpenApiConfig) {
    const doc = loadDocument(config.spec);
    this.strict = config.strict;
    this.basePath = basePathOf(doc, config.base_path);
    const openapi30 = (doc.openapi as string).startsWith('3.0');
    this.draft = openapi30 ? '07' : '2020-12';
    const id = DOCUMENT_ID;
    const prepared = prepare(doc, id, openapi30) as Json;
    // The whole description is registered so $refs inside schemas resolve against it.
    const bodyAjv = createAjv(this.draft, false);
    const paramAjv = createAjv(this.draft, true);
    for (const ajv of [bodyAjv, paramAjv]) ajv.addSchema({ ...prepared, $id: id }, undefined, undefined, false);

    for (const [template, rawItem] of Object.entries(prepared.paths as Json)) {
      if (!template.startsWith('/')) throw new ConfigError(`path ${JSON.stringify(template)} in the description does not start with "/"`, ['openapi', 'spec']);
      const item = deref(prepared, rawItem);
      if (!isObject(item)) continue;
      const shared: unknown[] = Array.isArray(item.parameters) ? (item.parameters as unknown[]) : [];
      const operations = new Map<string, Operation>();
      for (const method of HTTP_METHODS) {
        const op = item[method];
        if (!isObject(op)) continue;
        try {
          operations.set(method.toUpperCase(), this.compileOperation(prepared, method.toUpperCase(), template, [...shared, ...(Array.isArray(op.parameters) ? (op.parameters as unknown[]) : [])], op, bodyAjv, paramAjv, config.validate_body));
        } catch (err) {
          if (err instanceof ConfigError) throw err;
          throw new ConfigError(`${method.toUpperCase()} ${template}: cannot compile its schemas: ${(err as Error).message}`, ['openapi', 'spec']);
        }
      }
      const segments = parseTemplate(template);
      this.entries.push({ template, segments, literals: segments.filter((s) => typeof s === 'string').length, operations });
    }
    // Literal segments win over parameters: /users/me before /users/{id}
    this.entries.sort((a, b) => b.literals - a.literals);
  }

  private compileOperation(
    doc: Json,
    method: string,
    template: string,
    rawParameters: unknown[],
    op: Json,
    bodyAjv: ReturnType<typeof createAjv>,
    paramAjv: ReturnType<typeof createAjv>,
    validateBody: boolean,
  ): Operation {
    // operation parameters override path-level ones with the same name and location
    const byKey = new Map<string, Json>();
    for (const raw of rawParameters) {
      const p = deref(doc, raw);
      if (isObject(p) && typeof p.name === 'string' && typeof p.in === 'string') byKey.set(`${p.in}:${p.name}`, p);
    }
    const parameters: Parameter[] = [];
    const schemas: Partial<Record<Parameter['in'], { properties: Json; required: string[] }>> = {};
    for (const p of byKey.values()) {
      const where = p.in as Parameter['in'];
      if (!['path', 'query', 'header', 'cookie'].includes(where)) continue;
      const name = where === 'header' ? (p.name as string).toLowerCase() : (p.name as string);
      const schema = isObject(p.schema) ? p.schema : {};
      const array = schema.type === 'array' || (Array.isArray(schema.type) && schema.type.includes('array'));
      const object = schema.type === 'object' || (Array.isArray(schema.type) && schema.type.includes('object'));
      parameters.push({ name, in: where, required: p.required === true || where === 'path', array, commaSeparated: array && p.explode === false, deepObject: where === 'query' && (p.style === 'deepObject' || object) });
      const group = (schemas[where] ??= { properties: {}, required: [] });
      group.properties[name] = schema;
      if (p.required === true || where === 'path') group.required.push(name);
    }
    const validators: Operation['validators'] = {};
    for (const [where, group] of Object.entries(schemas) as Array<[Parameter['in'], { properties: Json; required: string[] }]>) {
      validators[where] = paramAjv.compile({ type: 'object', properties: group.properties, required: group.required });
    }
    let media: BodyMedia[] | undefined;
    let bodyRequired = false;
    const body = op.requestBody !== undefined ? deref(doc, op.requestBody) : undefined;
    if (isObject(body) && isObject(body.content)) {
      bodyRequired = body.required === true;
      media = Object.entries(body.content).map(([type, entry]) => {
        const kind = mediaKind(type);
        const schema = isObject(entry) && isObject(entry.schema) ? entry.schema : undefined;
        const ajv = kind === 'form' ? paramAjv : bodyAjv;
        return { type: type.toLowerCase(), kind, validate: validateBody && schema && kind !== 'other' ? ajv.compile(schema) : undefined };
      });
    }
    return { method, template, parameters, validators, bodyRequired, media };
  }

  /** The operation for a request path (normalized, percent-encoded) and method. */
  lookup(method: string, path: string): Lookup {
    let rest = path;
    if (this.basePath !== '') {
      if (path !== this.basePath && !path.startsWith(this.basePath + '/')) return { kind: 'no-path' };
      rest = path.slice(this.basePath.length) || '/';
    }
    const segments = rest.split('/').slice(1);
    for (const entry of this.entries) {
      if (entry.segments.length !== segments.length) continue;
      const params = new Map<string, string[]>();
      let ok = true;
      for (let i = 0; i < segments.length && ok; i++) {
        const want = entry.segments[i]!;
        const have = segments[i]!;
        if (typeof want === 'string') ok = want === have;
        else if (have === '') ok = false;
        else params.set(want.name, pathSegmentReadings(have));
      }
      if (!ok) continue;
      const operation = entry.operations.get(method) ?? (method === 'HEAD' ? entry.operations.get('GET') : undefined);
      if (operation) return { kind: 'operation', operation, params };
      const allowed = [...entry.operations.keys()];
      if (allowed.includes('GET') && !allowed.includes('HEAD')) allowed.push('HEAD');
      return { kind: 'no-method', allowed: allowed.sort() };
    }
    return { kind: 'no-path' };
  }
}

/** Validates one location's parameters; returns the error message or undefined. */
export function checkParameters(operation: Operation, where: Parameter['in'], values: Record<string, unknown>): string | undefined {
  const validate = operation.validators[where];
  if (!validate || validate(values)) return undefined;
  return describeErrors(where, validate.errors);
}

/** Media type (lower case, without parameters: src/lib/media-type.ts) → the declared body entry, honouring type/* and *\/* wildcards. */
export function mediaFor(operation: Operation, type: string): BodyMedia | undefined {
  if (!operation.media) return undefined;
  return (
    operation.media.find((m) => m.type === type) ??
    operation.media.find((m) => m.type.endsWith('/*') && type.startsWith(m.type.slice(0, -1))) ??
    operation.media.find((m) => m.type === '*/*')
  );
}
