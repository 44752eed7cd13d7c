/**
 * request-validation: a positive model of what a route accepts. Regex rules
 * (RE2) on the path, query parameters, headers, cookies and JSON body fields;
 * a JSON Schema for the body; or an OpenAPI 3.0/3.1 description that
 * validates parameters and bodies per operation and, when strict, refuses
 * operations it does not declare. Every refusal says where the request went
 * wrong (a path like "body.items[0].qty"), never echoes the value.
 *
 * Compiled once per config snapshot; requests without a body to check are
 * validated synchronously.
 */
import { ConfigError, type ConfigPath } from '../../config/errors.js';
import { parseSize } from '../../config/units.js';
import type { RequestContext } from '../../pipeline/context.js';
import { deny, type Deny, type PolicyResult } from '../../pipeline/decision.js';
import { definePolicy } from '../../pipeline/policy.js';
import { decodeJsonText, looksLikeJson, mayBeJson, parseJsonBody } from '../../lib/json-text.js';
import { parseMediaType } from '../../lib/media-type.js';
import { cookieValues, pairReadings, type Pairs } from '../../lib/query.js';
import { compileField, compileRegex, valueAt, type FieldCheck, type FieldRuleConfig } from './fields.js';
import { createAjv, describeErrors, draftOf, type ValidateFunction } from './json-schema.js';
import { checkParameters, mediaFor, OpenApiModel, type Operation } from './openapi.js';
import { RequestValidationSchema } from './schema.js';

type Fields = Record<string, FieldRuleConfig> | undefined;

function compileFields(fields: Fields, base: ConfigPath, lower: boolean): Array<[string, FieldCheck]> {
  return Object.entries(fields ?? {}).map(([name, rule]) => [lower ? name.toLowerCase() : name, compileField(rule, [...base, name])]);
}

/** The media type as Werkzeug reads it (up to ";", "," or whitespace), lower case. */
function mediaType(contentType: string | undefined): string {
  return contentType === undefined ? '' : parseMediaType(contentType).type;
}

/** The charset a Content-Type names, lower case; null when its parameters do not parse strictly (parsers read them apart). */
function charsetOf(contentType: string | undefined): string | undefined | null {
  if (contentType === undefined) return undefined;
  const params = parseMediaType(contentType).params;
  return params === undefined ? null : params.get('charset')?.toLowerCase();
}

/**
 * Every value a header can have upstream: the header itself and any spelling
 * with "_" for "-" (X_Id), which CGI, WSGI, Rack and PHP read as the same
 * header (HTTP_X_ID). Names are lower case with "-".
 */
function headerValues(ctx: RequestContext, name: string, underscored: boolean): string[] {
  const direct = ctx.header(name);
  const out = direct === undefined ? [] : [direct];
  if (!underscored) return out;
  for (const key in ctx.headers) {
    if (!key.includes('_') || key.replaceAll('_', '-') !== name) continue;
    const value = ctx.headers[key];
    if (Array.isArray(value)) out.push(...value);
    else if (value !== undefined) out.push(value);
  }
  return out;
}

function hasUnderscoredHeader(ctx: RequestContext): boolean {
  for (const key in ctx.headers) if (key.includes('_')) return true;
  return false;
}

/** Could a lenient upstream (get_json(force=True)) read this body as JSON whatever its type says? */
function looksJson(raw: Buffer): boolean {
  if (!mayBeJson(raw)) return false;
  const text = decodeJsonText(raw);
  return text !== undefined && looksLikeJson(text);
}

/** Charsets every upstream parser decodes a validated body with alike. */
const PLAIN_CHARSETS = new Set([undefined, 'utf-8', 'utf8', 'us-ascii']);


export default definePolicy({
  name: 'request-validation',
  phase: 'screen',
  description: 'Validates requests against regex rules, a JSON Schema, or an OpenAPI 3.0/3.1 description.',
  config: RequestValidationSchema,
  compile(config, deps) {
    const status = config.status;
    const invalid = (message: string, location: string): Deny =>
      deny('invalid_request', { status, message: `Invalid request: ${message}`, event: { type: 'validation.failed', severity: 'low', message, data: { location, message } } });

    const pathAllow = config.path?.allow !== undefined ? compileRegex(config.path.allow, ['path', 'allow']) : undefined;
    const pathDeny = config.path?.deny !== undefined ? compileRegex(config.path.deny, ['path', 'deny']) : undefined;
    const queryRules = compileFields(config.query, ['query'], false);
    const headerRules = compileFields(config.headers, ['headers'], true).map(([name, check]) => [name.replaceAll('_', '-'), check] as [string, FieldCheck]);
    const cookieRules = compileFields(config.cookies, ['cookies'], false);
    const body = config.body;
    const bodyRules = compileFields(body?.fields, ['body', 'fields'], false).map(([name, check]) => [name.split('.'), check, name] as const);
    const contentTypes = body?.content_types ? new Set(body.content_types.map((t) => t.toLowerCase())) : undefined;

    const maxBuffered = parseSize(deps.settings.limits.max_buffered_body);
    const maxBody = body ? parseSize(body.max_size) : maxBuffered;
    if (maxBody > maxBuffered) {
      throw new ConfigError(`max_size (${maxBody} bytes) is larger than gateway.limits.max_buffered_body (${maxBuffered} bytes)`, ['body', 'max_size']);
    }
    let bodySchema: ValidateFunction | undefined;
    if (body?.schema) {
      try {
        bodySchema = createAjv(draftOf(body.schema), false).compile(body.schema);
      } catch (err) {
        throw new ConfigError(`the JSON Schema does not compile: ${(err as Error).message}`, ['body', 'schema']);
      }
    }
    const openapi = config.openapi ? new OpenApiModel(config.openapi) : undefined;
    const listedQuery = new Set(queryRules.map(([name]) => name));
    const rejectUnknownQuery = config.unknown_query === 'reject';
    const needsBody = bodySchema !== undefined || bodyRules.length > 0 || (openapi !== undefined && config.openapi!.validate_body);

    function checkHead(ctx: RequestContext, operation: Operation | undefined, params: Map<string, string[]> | undefined): Deny | undefined {
      if (pathAllow && !pathAllow.test(ctx.path)) return invalid('path: is not an allowed path', 'path');
      if (pathDeny?.test(ctx.path)) return invalid('path: is a denied path', 'path');
      // every reading of the query string (Werkzeug 2 and 3, qs) must pass
      const queries = queryRules.length > 0 || rejectUnknownQuery || operation ? pairReadings(ctx.query, 'latin1') : undefined;
      for (const [name, check] of queryRules) {
        for (const query of queries!) {
          for (const value of query.get(name) ?? [undefined]) {
            const problem = check(value);
            if (problem) return invalid(`query.${name}: ${problem}`, 'query');
          }
        }
      }
      const underscored = (headerRules.length > 0 || operation?.validators.header !== undefined) && hasUnderscoredHeader(ctx);
      for (const [name, check] of headerRules) {
        const values = headerValues(ctx, name, underscored);
        for (const value of values.length === 0 ? [undefined] : values) {
          const problem = check(value);
          if (problem) return invalid(`headers.${name}: ${problem}`, 'headers');
        }
      }
      const cookies = cookieRules.length > 0 || operation?.validators.cookie ? cookieValues(ctx.headers.cookie) : undefined;
      for (const [name, check] of cookieRules) {
        for (const value of cookies!.get(name) ?? [undefined]) {
          const problem = check(value);
          if (problem) return invalid(`cookies.${name}: ${problem}`, 'cookies');
        }
      }
      if (operation) {
        const problem = checkOperationParameters(ctx, operation, params!, queries!, cookies, underscored);
        if (problem) return invalid(problem, problem.slice(0, problem.indexOf('.') === -1 ? problem.indexOf(':') : problem.indexOf('.')));
      }
      if (rejectUnknownQuery) {
        const declared = new Set([...listedQuery, ...(operation?.parameters.filter((p) => p.in === 'query').map((p) => p.name) ?? [])]);
        const deep = operation?.parameters.filter((p) => p.deepObject).map((p) => `${p.name}[`) ?? [];
        for (const query of queries!) for (const name of query.keys()) if (!declared.has(name) && !deep.some((d) => name.startsWith(d))) return invalid(`query.${name.slice(0, 40)}: is not an accepted parameter`, 'query');
      }
      return undefined;
    }

    function checkBody(ctx: RequestContext, operation: Operation | undefined, raw: Buffer): Deny | undefined {
      const contentType = ctx.header('content-type');
      const type = mediaType(contentType);
      // what is validated must be what the upstream parses: body-parser inflates gzip, deflate and br
      // bodies, and decodes other charsets (a form in Latin-1, JSON in UTF-16)
      const encoding = ctx.header('content-encoding');
      if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return invalid('body: is encoded (Content-Encoding)', 'body');
      const charset = charsetOf(contentType);
      if (charset === null) return invalid('body: has a Content-Type whose parameters do not parse', 'body');
      if (!PLAIN_CHARSETS.has(charset)) return invalid('body: has a charset other than UTF-8', 'body');
      let json: { value: unknown } | undefined;
      let parsed = false;
      const parseJson = (): boolean => {
        if (!parsed) {
          parsed = true;
          json = parseJsonBody(raw);
        }
        return json !== undefined;
      };
      if (bodySchema || bodyRules.length > 0) {
        if (!parseJson()) return invalid('body: is not valid JSON', 'body');
        if (bodySchema && !bodySchema(json!.value)) return invalid(describeErrors('body', bodySchema.errors), 'body');
        for (const [path, check, name] of bodyRules) {
          const problem = check(valueAt(json!.value, path));
          if (problem) return invalid(`body.${name}: ${problem}`, 'body');
        }
      }
      if (operation) {
        const media = mediaFor(operation, type);
        if (media?.validate) {
          if (media.kind === 'json') {
            if (!parseJson()) return invalid('body: is not valid JSON', 'body');
            if (!media.validate(json!.value)) return invalid(describeErrors('body', media.validate.errors), 'body');
          } else {
            // a form that looks like JSON is JSON to get_json(force=True), and no form to anyone
            if (looksJson(raw)) return invalid('body: is JSON sent as a form', 'body');
            // every reading (Werkzeug 2 and 3, qs / body-parser) must pass
            for (const form of pairReadings(raw.toString('latin1'), 'utf8')!) {
              if (!media.validate(formObject(form))) return invalid(describeErrors('body', media.validate.errors), 'body');
            }
          }
        }
        // a body of another declared type that looks like JSON is JSON to a lenient upstream: it must pass the JSON schema too
        if (media?.kind !== 'json') {
          const jsonMedia = operation.media?.find((m) => m.kind === 'json' && m.validate);
          if (jsonMedia && looksJson(raw)) {
            if (!parseJson()) return invalid('body: is not valid JSON', 'body');
            if (!jsonMedia.validate!(json!.value)) return invalid(describeErrors('body', jsonMedia.validate!.errors), 'body');
          }
        }
      }
      return undefined;
    }

    return {
      onRequest(ctx): PolicyResult | Promise<PolicyResult> {
        let operation: Operation | undefined;
        let params: Map<string, string[]> | undefined;
        if (openapi) {
          const found = openapi.lookup(ctx.method, ctx.path);
          if (found.kind === 'operation') {
            operation = found.operation;
            params = found.params;
          } else if (openapi.strict) {
            if (found.kind === 'no-method') {
              return deny('method_not_allowed', {
                headers: { allow: found.allowed.join(', ') },
                event: { type: 'validation.undeclared_operation', severity: 'low', reason: 'undeclared_method', message: `${ctx.method.slice(0, 20)} is not declared for this path` },
              });
            }
            return deny('not_found', {
              message: 'No operation in the API description matches this request.',
              event: { type: 'validation.undeclared_operation', severity: 'low', reason: 'undeclared_path', message: 'the path is not declared in the API description' },
            });
          }
        }
        const head = checkHead(ctx, operation, params);
        if (head) return head;

        const present = ctx.hasBody;
        const type = mediaType(ctx.header('content-type'));
        if (!present) {
          if (body?.required) return invalid('body: is required', 'body');
          if (operation?.bodyRequired) return invalid('body: is required', 'body');
          return undefined;
        }
        if (contentTypes && !contentTypes.has(type)) {
          return deny('unsupported_media_type', { event: { type: 'validation.unsupported_media_type', severity: 'low', message: 'the content type is not accepted', data: { content_type: type } } });
        }
        if (operation?.media && !mediaFor(operation, type)) {
          return deny('unsupported_media_type', { event: { type: 'validation.unsupported_media_type', severity: 'low', message: 'the content type is not declared', data: { content_type: type } } });
        }
        if (!needsBody) return undefined;
        if (!operation?.media?.some((m) => m.validate) && !bodySchema && bodyRules.length === 0) return undefined;
        return ctx.readBody(maxBody).then((raw) => checkBody(ctx, operation, raw));
      },
    };
  },
});

/** A form reading as the object a schema validates: one value a string, several an array. */
function formObject(form: Pairs): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of form) out[k] = v.length === 1 ? v[0] : v;
  return out;
}

/**
 * Validates one location's parameters with every value an upstream may read
 * for them: the first alternative of each parameter, then each other
 * alternative in its place (one at a time: linear in the values).
 */
function checkAlternatives(operation: Operation, where: 'path' | 'query' | 'header' | 'cookie', alternatives: Map<string, unknown[]>): string | undefined {
  const values: Record<string, unknown> = {};
  for (const [name, alts] of alternatives) values[name] = alts[0];
  const problem = checkParameters(operation, where, values);
  if (problem) return problem;
  for (const [name, alts] of alternatives) {
    for (let i = 1; i < alts.length; i++) {
      const other = checkParameters(operation, where, { ...values, [name]: alts[i] });
      if (other) return other;
    }
  }
  return undefined;
}

/**
 * A deepObject parameter in one reading: its name[key]=value pairs as
 * { key: value }, or, with none, the values given as the plain name. Both
 * kinds, or deeper nesting (name[a][b]), give back a key no object schema
 * accepts. (qs's reading also files name[key] under name itself: ignored here.)
 */
function deepObject(reading: Pairs, name: string, qsReading: boolean): unknown {
  let out: Record<string, unknown> | undefined;
  const prefix = `${name}[`;
  for (const [key, values] of reading) {
    if (!key.startsWith(prefix)) continue;
    const close = key.indexOf(']', prefix.length);
    if (close !== key.length - 1) return key;
    out ??= {};
    out[key.slice(prefix.length, close)] = values.length === 1 ? values[0] : values;
  }
  const plain = reading.get(name);
  if (out !== undefined) return plain !== undefined && !qsReading ? name : out;
  return plain === undefined ? undefined : plain.length === 1 ? plain[0] : plain;
}

function push(map: Map<string, unknown[]>, name: string, value: unknown): void {
  const list = map.get(name);
  if (!list) map.set(name, [value]);
  else if (!list.some((v) => v === value || (Array.isArray(v) && Array.isArray(value) && v.length === value.length && v.every((x, i) => x === value[i])))) list.push(value);
}

function checkOperationParameters(
  ctx: RequestContext,
  operation: Operation,
  params: Map<string, string[]>,
  queries: Pairs[],
  cookies: Pairs | undefined,
  underscored: boolean,
): string | undefined {
  const path = new Map<string, unknown[]>();
  const query = new Map<string, unknown[]>();
  const headers = new Map<string, unknown[]>();
  const cookieValues = new Map<string, unknown[]>();
  for (const p of operation.parameters) {
    switch (p.in) {
      case 'path': {
        // every reading of the segment: %F0%9F%27 is "\ufffd'" to Werkzeug 2
        for (const v of params.get(p.name) ?? []) push(path, p.name, v);
        break;
      }
      case 'query': {
        for (const [i, reading] of queries.entries()) {
          if (p.deepObject) {
            // filter[status]=open&filter[tag]=a: one object per reading; a plain filter=... is no object
            const object = deepObject(reading, p.name, i > 0);
            if (object !== undefined) push(query, p.name, object);
            continue;
          }
          const values = reading.get(p.name);
          if (values === undefined) continue;
          if (p.commaSeparated) push(query, p.name, values.flatMap((v) => v.split(',')));
          else if (p.array) push(query, p.name, [...values]);
          // a single value: Werkzeug reads the first, others the last, qs all of them
          else for (const v of values) push(query, p.name, v);
        }
        break;
      }
      case 'header': {
        for (const v of headerValues(ctx, p.name.replaceAll('_', '-'), underscored)) push(headers, p.name, p.array ? v.split(',').map((s) => s.trim()) : v);
        break;
      }
      case 'cookie': {
        for (const v of cookies?.get(p.name) ?? []) push(cookieValues, p.name, v);
        break;
      }
    }
  }
  return (
    checkAlternatives(operation, 'path', path) ??
    checkAlternatives(operation, 'query', query) ??
    checkAlternatives(operation, 'header', headers) ??
    checkAlternatives(operation, 'cookie', cookieValues)
  );
}
