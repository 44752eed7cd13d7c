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
import { parseCookies, parseQuery } from '../../lib/query.js';
import { compileField, compileRegex, valueAt, type FieldCheck, type FieldRuleConfig } from './fields.js';
import { createAjv, describeErrors, draftOf, type ValidateFunction } from './json-schema.js';
import { checkParameters, mediaFor, OpenApiModel, type Operation } from './openapi.js';
import { RequestValidationSchema } from './schema.js';

type Fields = Record<string, FieldRuleConfig> | undefined;

function compileFields(fields: Fields, base: ConfigPath, lower: boolean): Array<[string, FieldCheck]> {
  return Object.entries(fields ?? {}).map(([name, rule]) => [lower ? name.toLowerCase() : name, compileField(rule, [...base, name])]);
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}


export default definePolicy({
  name: 'request-validation',
  phase: 'screen',
  description: 'Validates requests against regex rules, a JSON Schema, or an OpenAPI 3.0/3.1 description.',
  config: RequestValidationSchema,
  compile(config, deps) {
    const status = config.status;
    const invalid = (message: string, location: string): Deny =>
      deny(status, 'invalid_request', { message: `Invalid request: ${message}`, event: { type: 'validation.failed', severity: 'low', reason: message, data: { location } } });

    const pathAllow = config.path?.allow !== undefined ? compileRegex(config.path.allow, ['path', 'allow']) : undefined;
    const pathDeny = config.path?.deny !== undefined ? compileRegex(config.path.deny, ['path', 'deny']) : undefined;
    const queryRules = compileFields(config.query, ['query'], false);
    const headerRules = compileFields(config.headers, ['headers'], true);
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

    function checkHead(ctx: RequestContext, operation: Operation | undefined, params: Map<string, string> | undefined): Deny | undefined {
      if (pathAllow && !pathAllow.test(ctx.path)) return invalid('path: is not an allowed path', 'path');
      if (pathDeny?.test(ctx.path)) return invalid('path: is a denied path', 'path');
      const query = queryRules.length > 0 || rejectUnknownQuery || operation ? parseQuery(ctx.query) : undefined;
      for (const [name, check] of queryRules) {
        const values = query!.get(name);
        for (const value of values ?? [undefined]) {
          const problem = check(value);
          if (problem) return invalid(`query.${name}: ${problem}`, 'query');
        }
      }
      for (const [name, check] of headerRules) {
        const problem = check(ctx.header(name));
        if (problem) return invalid(`headers.${name}: ${problem}`, 'headers');
      }
      const cookies = cookieRules.length > 0 || operation?.validators.cookie ? parseCookies(ctx.headers.cookie) : undefined;
      for (const [name, check] of cookieRules) {
        const problem = check(cookies!.get(name));
        if (problem) return invalid(`cookies.${name}: ${problem}`, 'cookies');
      }
      if (operation) {
        const problem = checkOperationParameters(ctx, operation, params!, query!, cookies);
        if (problem) return invalid(problem, problem.slice(0, problem.indexOf('.') === -1 ? problem.indexOf(':') : problem.indexOf('.')));
      }
      if (rejectUnknownQuery) {
        const declared = new Set([...listedQuery, ...(operation?.parameters.filter((p) => p.in === 'query').map((p) => p.name) ?? [])]);
        for (const name of query!.keys()) if (!declared.has(name)) return invalid(`query.${name.slice(0, 40)}: is not an accepted parameter`, 'query');
      }
      return undefined;
    }

    function checkBody(ctx: RequestContext, operation: Operation | undefined, raw: Buffer): Deny | undefined {
      const type = mediaType(ctx.header('content-type'));
      let json: unknown;
      let parsed = false;
      const parseJson = (): boolean => {
        if (parsed) return json !== undefined;
        parsed = true;
        try {
          json = JSON.parse(raw.toString('utf8'));
          return true;
        } catch {
          return false;
        }
      };
      if (bodySchema || bodyRules.length > 0) {
        if (!parseJson()) return invalid('body: is not valid JSON', 'body');
        if (bodySchema && !bodySchema(json)) return invalid(describeErrors('body', bodySchema.errors), 'body');
        for (const [path, check, name] of bodyRules) {
          const problem = check(valueAt(json, path));
          if (problem) return invalid(`body.${name}: ${problem}`, 'body');
        }
      }
      if (operation) {
        const media = mediaFor(operation, type);
        if (media?.validate) {
          let value: unknown;
          if (media.kind === 'json') {
            if (!parseJson()) return invalid('body: is not valid JSON', 'body');
            value = json;
          } else {
            value = Object.fromEntries([...parseQuery(raw.toString('latin1')).entries()].map(([k, v]) => [k, v.length === 1 ? v[0] : v]));
          }
          if (!media.validate(value)) return invalid(describeErrors('body', media.validate.errors), 'body');
        }
      }
      return undefined;
    }

    return {
      onRequest(ctx): PolicyResult | Promise<PolicyResult> {
        let operation: Operation | undefined;
        let params: Map<string, string> | undefined;
        if (openapi) {
          const found = openapi.lookup(ctx.method, ctx.path);
          if (found.kind === 'operation') {
            operation = found.operation;
            params = found.params;
          } else if (openapi.strict) {
            if (found.kind === 'no-method') {
              return deny(405, 'method_not_allowed', {
                headers: { allow: found.allowed.join(', ') },
                event: { type: 'validation.undeclared_operation', severity: 'low', reason: `${ctx.method} is not declared for this path` },
              });
            }
            return deny(404, 'not_found', {
              message: 'No operation in the API description matches this request.',
              event: { type: 'validation.undeclared_operation', severity: 'low', reason: 'the path is not declared in the API description' },
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
          return deny(415, 'unsupported_media_type', { event: { type: 'validation.unsupported_media_type', severity: 'low', reason: `content type ${type.slice(0, 60)} is not accepted` } });
        }
        if (operation?.media && !mediaFor(operation, type)) {
          return deny(415, 'unsupported_media_type', { event: { type: 'validation.unsupported_media_type', severity: 'low', reason: `content type ${type.slice(0, 60)} is not declared` } });
        }
        if (!needsBody) return undefined;
        if (!operation?.media?.some((m) => m.validate) && !bodySchema && bodyRules.length === 0) return undefined;
        return ctx.readBody(maxBody).then((raw) => checkBody(ctx, operation, raw));
      },
    };
  },
});

function checkOperationParameters(
  ctx: RequestContext,
  operation: Operation,
  params: Map<string, string>,
  query: Map<string, string[]>,
  cookies: Map<string, string> | undefined,
): string | undefined {
  const path: Record<string, unknown> = {};
  const queryValues: Record<string, unknown> = {};
  const headers: Record<string, unknown> = {};
  const cookieValues: Record<string, unknown> = {};
  for (const p of operation.parameters) {
    switch (p.in) {
      case 'path': {
        const v = params.get(p.name);
        if (v !== undefined) path[p.name] = v;
        break;
      }
      case 'query': {
        const values = query.get(p.name);
        if (values === undefined) break;
        queryValues[p.name] = p.commaSeparated ? values.flatMap((v) => v.split(',')) : p.array ? values : values[0];
        break;
      }
      case 'header': {
        const v = ctx.header(p.name);
        if (v !== undefined) headers[p.name] = p.array ? v.split(',').map((s) => s.trim()) : v;
        break;
      }
      case 'cookie': {
        const v = cookies?.get(p.name);
        if (v !== undefined) cookieValues[p.name] = v;
        break;
      }
    }
  }
  return (
    checkParameters(operation, 'path', path) ??
    checkParameters(operation, 'query', queryValues) ??
    checkParameters(operation, 'header', headers) ??
    checkParameters(operation, 'cookie', cookieValues)
  );
}
