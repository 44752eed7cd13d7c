/**
 * Checks a loaded config against the schema and every policy's own schema,
 * fills in defaults, and turns ajv's findings into messages a person can act
 * on: the path, the line, and for unknown keys the key that was probably meant.
 */
import type { TSchema } from '@sinclair/typebox';
import { ajv, FORMAT_HINTS, type ErrorObject } from './ajv.js';
import { didYouMean, formatPath, type ConfigIssue, type ConfigPath } from './errors.js';
import type { LoadedSource } from './load.js';
import { ConfigSchema, type Config } from './schema.js';
import { CommonPolicyFields, type PolicySchemas } from './types.js';
import { Type, type TObject } from '@sinclair/typebox';
import type { ValidateFunction } from 'ajv';

export type ValidationResult = { ok: true; config: Config } | { ok: false; issues: ConfigIssue[] };

const validateTop = ajv.compile<Config>(ConfigSchema);
const policyValidators = new WeakMap<PolicySchemas, ValidateFunction>();
const credentialValidators = new WeakMap<TSchema, ValidateFunction>();

function policyValidator(policy: PolicySchemas): ValidateFunction {
  let validate = policyValidators.get(policy);
  if (!validate) {
    const schema: TObject = Type.Object({ ...policy.config.properties, ...CommonPolicyFields }, { additionalProperties: false });
    validate = ajv.compile(schema);
    policyValidators.set(policy, validate);
  }
  return validate;
}

function credentialValidator(schema: TSchema): ValidateFunction {
  let validate = credentialValidators.get(schema);
  if (!validate) credentialValidators.set(schema, (validate = ajv.compile(schema)));
  return validate;
}

export function validateConfig(source: LoadedSource, policies: ReadonlyMap<string, PolicySchemas>): ValidationResult {
  const issues: ConfigIssue[] = [];
  const report = (path: ConfigPath, message: string) =>
    issues.push({ file: source.file, line: source.lineOf(path), path: formatPath(path), message });

  const data = source.data ?? {};
  if (!validateTop(data)) {
    for (const error of simplify(validateTop.errors)) report(errorPath([], error), describe(error));
  }
  // Policies and credentials are checked even when the rest has problems, so
  // that one run lists everything; the shape checks below guard against a
  // structure the top-level schema already complained about.
  const root = isRecord(data) ? data : {};
  const checkPolicies = (entries: unknown, base: ConfigPath) => {
    if (!Array.isArray(entries)) return;
    entries.forEach((entry: unknown, i) => {
      if (!isRecord(entry) || Object.keys(entry).length !== 1) return;
      const [name, settings] = Object.entries(entry)[0]!;
      const path = [...base, i, name];
      const policy = policies.get(name);
      if (!policy) {
        const hint = didYouMean(name, policies.keys());
        report(path, `unknown policy "${name}"${hint ? `; did you mean "${hint}"?` : ''}`);
        return;
      }
      const value = settings ?? {};
      entry[name] = value;
      const validate = policyValidator(policy);
      if (!validate(value)) for (const error of simplify(validate.errors)) report(errorPath(path, error), describe(error));
    });
  };
  checkPolicies(root.global_policies, ['global_policies']);
  if (Array.isArray(root.routes)) root.routes.forEach((route: unknown, r) => isRecord(route) && checkPolicies(route.policies, ['routes', r, 'policies']));
  if (Array.isArray(root.consumers)) {
    root.consumers.forEach((consumer: unknown, c) => {
      if (!isRecord(consumer) || !isRecord(consumer.credentials)) return;
      for (const [method, list] of Object.entries(consumer.credentials)) {
        const path: ConfigPath = ['consumers', c, 'credentials', method];
        const schema = policies.get(method)?.credentials;
        if (!schema) {
          const methods = [...policies.values()].filter((p) => p.credentials).map((p) => p.name);
          const hint = didYouMean(method, methods);
          report(path, `no authentication method "${method}" takes consumer credentials${hint ? `; did you mean "${hint}"?` : ''}`);
          continue;
        }
        if (!Array.isArray(list)) continue;
        const validate = credentialValidator(schema);
        list.forEach((credential: unknown, k) => {
          if (!validate(credential)) for (const error of simplify(validate.errors)) report(errorPath([...path, k], error), describe(error));
        });
      }
    });
  }
  if (issues.length > 0) {
    issues.sort((a, b) => a.line - b.line);
    return { ok: false, issues };
  }
  const config = data as Config;
  return issues.length > 0 ? { ok: false, issues } : { ok: true, config };
}

/**
 * With allErrors, a failed anyOf also reports every branch's own failure;
 * the anyOf error alone says it better.
 */
function simplify(errors: ErrorObject[] | null | undefined): ErrorObject[] {
  const list = errors ?? [];
  const unions = list.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.schemaPath + '/');
  return list.filter((e) => !unions.some((prefix) => e.schemaPath.startsWith(prefix)));
}

/** ajv's JSON pointer as our path segments; an unknown key points at the key itself. */
function errorPath(base: ConfigPath, error: ErrorObject): ConfigPath {
  const parts: Array<string | number> = [...base];
  for (const raw of error.instancePath.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    parts.push(/^\d+$/.test(part) ? Number(part) : part);
  }
  if (error.keyword === 'additionalProperties') parts.push((error.params as { additionalProperty: string }).additionalProperty);
  if (error.keyword === 'required') parts.push((error.params as { missingProperty: string }).missingProperty);
  return parts;
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  // A value marked x-secret is never repeated: errors go to logs, the terminal and the reload status file.
  if ((error.parentSchema as { 'x-secret'?: unknown } | undefined)?.['x-secret'] === true) {
    const what = error.keyword === 'type' ? `expected ${String(params.type)}, got ${describeKind(error.data)}` : (error.message ?? 'invalid');
    return `${what} (the value is secret and not shown)`;
  }
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = params.additionalProperty as string;
      const known = Object.keys((error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
      const hint = didYouMean(key, known);
      return `unknown key "${key}"${hint ? `; did you mean "${hint}"?` : known.length > 0 ? ` (expected one of: ${known.join(', ')})` : ''}`;
    }
    case 'required':
      return `required key "${String(params.missingProperty)}" is missing`;
    case 'format':
      return `${FORMAT_HINTS[params.format as string] ?? `expected format ${String(params.format)}`}, got ${JSON.stringify(error.data)}`;
    case 'type': {
      // `connect: 5` is a number where a duration string belongs: say what a duration looks like.
      const format = (error.parentSchema as { format?: string } | undefined)?.format;
      const hint = format !== undefined ? FORMAT_HINTS[format] : undefined;
      return `${hint ?? `expected ${String(params.type)}`}, got ${describeValue(error.data)}`;
    }
    case 'const':
      return `expected ${JSON.stringify(params.allowedValue)}, got ${JSON.stringify(error.data)}`;
    case 'anyOf': {
      const choices = literalChoices(error.parentSchema);
      if (choices) return `expected one of ${choices.map((c) => JSON.stringify(c)).join(', ')}, got ${JSON.stringify(error.data)}`;
      const expected = (error.parentSchema as { description?: string } | undefined)?.description;
      return `got ${JSON.stringify(error.data)}, which matches none of the allowed forms${expected ? ` (${expected})` : ''}`;
    }
    case 'pattern':
      return `${JSON.stringify(error.data)} is not valid here${(error.parentSchema as { description?: string } | undefined)?.description ? ` (${(error.parentSchema as { description: string }).description})` : ''}`;
    case 'minProperties':
    case 'maxProperties':
      return (error.parentSchema as { description?: string } | undefined)?.description
        ? `expected ${(error.parentSchema as { description: string }).description}`
        : (error.message ?? 'invalid');
    default:
      return error.message ?? 'invalid';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function literalChoices(schema: unknown): unknown[] | undefined {
  const anyOf = (schema as { anyOf?: Array<{ const?: unknown; type?: string }> } | undefined)?.anyOf;
  if (!anyOf || !anyOf.every((s) => 'const' in s)) return undefined;
  return anyOf.map((s) => s.const);
}

/** What kind of value this is, without the value. */
function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a map' : `a ${typeof value}`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}
