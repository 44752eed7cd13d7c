/**
 * Runs one policy without a server: compiles it from settings the way the
 * gateway does (schema defaults filled in) and builds a RequestContext for a
 * request. For unit tests of a policy's decisions and for benchmarks; the
 * end-to-end tests run the whole gateway instead.
 */
import pino from 'pino';
import { Type, type TObject } from '@sinclair/typebox';
import { ajv } from '../../src/config/ajv.js';
import { DynamicDenyList } from '../../src/defense/deny-list.js';
import { GatewaySettingsSchema, type GatewaySettings } from '../../src/config/schema.js';
import { RequestContext } from '../../src/pipeline/context.js';
import type { PolicyResult } from '../../src/pipeline/decision.js';
import type { AnyPolicyDefinition, PolicyInstance } from '../../src/pipeline/policy.js';
import { memoryStores } from '../../src/stores/memory.js';
import { BodyTooLargeError } from '../../src/errors.js';

const validateSettings = ajv.compile(Type.Object({ gateway: GatewaySettingsSchema }));

export function gatewaySettings(overrides: Record<string, unknown> = {}): GatewaySettings {
  const holder = { gateway: structuredClone(overrides) };
  if (!validateSettings(holder)) throw new Error(`bad gateway settings: ${ajv.errorsText(validateSettings.errors)}`);
  return holder.gateway as GatewaySettings;
}

const silent = pino({ level: 'silent' });
/** One memory store for every policy compiled here (policies namespace their keys). */
const stores = memoryStores(silent);

const validators = new WeakMap<TObject, ReturnType<typeof ajv.compile>>();

/** Compiles `definition` with `config` after the schema fills in defaults; throws on invalid settings. */
export function compilePolicy(
  definition: AnyPolicyDefinition,
  config: Record<string, unknown> = {},
  options: { settings?: GatewaySettings; denyList?: DynamicDenyList } = {},
): PolicyInstance {
  let validate = validators.get(definition.config);
  if (!validate) validators.set(definition.config, (validate = ajv.compile(definition.config)));
  const copy = structuredClone(config);
  if (!validate(copy)) throw new Error(`invalid ${definition.name} settings: ${ajv.errorsText(validate.errors)}`);
  return definition.compile(copy as never, {
    credentials: [],
    consumers: new Map(),
    settings: options.settings ?? gatewaySettings(),
    logger: silent,
    route: 'test',
    denyList: options.denyList ?? new DynamicDenyList(),
    stores,
  });
}

export interface FakeRequest {
  method?: string;
  path?: string;
  query?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  clientIp?: string;
  host?: string;
}

export function requestContext(request: FakeRequest = {}): RequestContext {
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  const headers: Record<string, string | string[]> = { host: request.host ?? 'api.example.com', ...request.headers };
  if (body && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
  return new RequestContext(
    'req-1',
    request.method ?? (body ? 'POST' : 'GET'),
    request.path ?? '/',
    request.query ?? '',
    headers,
    request.host ?? 'api.example.com',
    request.clientIp ?? '203.0.113.7',
    'http',
    performance.now(),
    body ? { present: true, read: (limit) => (body.length > limit ? Promise.reject(new BodyTooLargeError(limit)) : Promise.resolve(body)) } : undefined,
  );
}

/** Runs onRequest, awaiting it when it returns a promise. */
export async function decide(instance: PolicyInstance, ctx: RequestContext): Promise<PolicyResult> {
  return instance.onRequest ? await instance.onRequest(ctx) : undefined;
}
