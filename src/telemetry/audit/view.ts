/**
 * The audit trail's copy of a config: the validated config, consumers'
 * credentials included, with every value the schema marks secret (`x-secret`:
 * config/types.ts Secret, password hashes, keys, client secrets) replaced by
 * a Masked stand-in. Masking follows the schemas, the top-level one and each
 * policy's own (settings and consumer credentials), never the key names, so a
 * new secret field is masked the day its schema marks it.
 *
 * A Masked value keeps an HMAC of the secret under a key made fresh for this
 * process: two views compare equal exactly when the secrets are equal, and
 * nothing in a view or a record can be used to test a guess of a secret.
 */
import RE2 from 're2';
import { createHmac, randomBytes } from 'node:crypto';
import type { TSchema } from '@sinclair/typebox';
import { ConfigSchema, type Config } from '../../config/schema.js';
import type { PolicySchemas } from '../../config/types.js';

const processKey = randomBytes(32);

/** What a record shows for a secret. */
export const MASK = '[secret]';

export class Masked {
  constructor(readonly fingerprint: string) {}
  toJSON(): string {
    return MASK;
  }
}

function masked(value: unknown): Masked {
  return new Masked(createHmac('sha256', processKey).update(typeof value === 'string' ? value : JSON.stringify(value) ?? '').digest('base64url'));
}

/** A masked copy of a config: plain JSON values, Masked where a secret was. */
export type ConfigView = Readonly<Record<string, unknown>>;

type Schema = TSchema & {
  'x-secret'?: boolean;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  properties?: Record<string, Schema>;
  patternProperties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema | Schema[];
  type?: string | string[];
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Masked);
}

/** A copy of value with what schema marks secret masked; a union masks what any of its branches would. */
function walk(schema: Schema | undefined, value: unknown): unknown {
  if (value instanceof Masked || schema === undefined) return value;
  if (schema['x-secret'] === true || (typeof value === 'string' && (hasUserinfo(value) || isPrivatePem(value))) || isPrivateJwk(value)) return masked(value);
  let out = value;
  if (schema.anyOf) for (const branch of schema.anyOf) out = walk(branch, out);
  if (schema.oneOf) for (const branch of schema.oneOf) out = walk(branch, out);
  if (schema.allOf) for (const branch of schema.allOf) out = walk(branch, out);
  if (isRecord(out) && (schema.properties || schema.patternProperties || typeof schema.additionalProperties === 'object')) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(out)) copy[key] = walk(propertySchema(schema, key), item);
    return copy;
  }
  if (Array.isArray(out) && schema.items) {
    const items = schema.items;
    return out.map((item, i) => walk(Array.isArray(items) ? items[i] : items, item));
  }
  return out;
}

/**
 * A URL with credentials in it (redis://:password@host, https://user:pass@collector):
 * the schemas take such URLs as plain strings (store.url, tracing endpoint,
 * ldap url, introspection endpoint), so the whole URL is masked, whatever field holds it.
 */
const USERINFO = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i;
function hasUserinfo(value: string): boolean {
  return value.includes('@') && USERINFO.test(value);
}

/**
 * Private key material where a public key goes: a jwt issuer's `pem` or `jwk`
 * works when given the private key (the public half is derived, the private
 * members dropped), so an operator who pasted the IdP's key pair would
 * otherwise put the signing key, and with it the power to mint tokens, in the
 * trail and every SIEM that keeps a copy.
 */
function isPrivatePem(value: string): boolean {
  return value.includes('PRIVATE KEY-----');
}
const JWK_PRIVATE = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
function isPrivateJwk(value: unknown): boolean {
  return isRecord(value) && typeof value.kty === 'string' && JWK_PRIVATE.some((m) => value[m] !== undefined);
}

/** Schemas are few and fixed: their patterns are compiled once, with RE2 like every pattern built at run time. */
const patterns = new Map<string, RE2>();
function regex(pattern: string): RE2 {
  let re = patterns.get(pattern);
  if (!re) patterns.set(pattern, (re = new RE2(pattern, 'u')));
  return re;
}

function propertySchema(schema: Schema, key: string): Schema | undefined {
  const own = schema.properties?.[key];
  if (own) return own;
  if (schema.patternProperties) for (const [pattern, sub] of Object.entries(schema.patternProperties)) if (regex(pattern).test(key)) return sub;
  return typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
}

/** Policy entries ({ name: settings }) through each policy's schema; an entry whose policy is unknown is masked whole. */
function policyEntries(entries: unknown, policies: ReadonlyMap<string, PolicySchemas>): unknown {
  if (!Array.isArray(entries)) return entries;
  return (entries as unknown[]).map((entry) => {
    if (!isRecord(entry)) return entry;
    const copy: Record<string, unknown> = {};
    for (const [name, settings] of Object.entries(entry)) {
      const policy = policies.get(name);
      copy[name] = policy ? walk(policy.config, settings) : masked(settings);
    }
    return copy;
  });
}

/** Consumers' credentials through each method's credential schema; a method without one is masked whole. */
function credentials(value: unknown, policies: ReadonlyMap<string, PolicySchemas>): unknown {
  if (!isRecord(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [method, list] of Object.entries(value)) {
    const schema = policies.get(method)?.credentials;
    copy[method] = schema && Array.isArray(list) ? list.map((c) => walk(schema, c)) : masked(list);
  }
  return copy;
}

/** The masked view of a validated config (before compile drops the credentials). */
export function configView(config: Config, policies: ReadonlyMap<string, PolicySchemas>): ConfigView {
  const view = walk(ConfigSchema, config) as Record<string, unknown>;
  if (view.global_policies !== undefined) view.global_policies = policyEntries(view.global_policies, policies);
  if (Array.isArray(view.routes)) view.routes = view.routes.map((r: unknown) => (isRecord(r) && r.policies !== undefined ? { ...r, policies: policyEntries(r.policies, policies) } : r));
  if (Array.isArray(view.consumers)) view.consumers = view.consumers.map((c: unknown) => (isRecord(c) && c.credentials !== undefined ? { ...c, credentials: credentials(c.credentials, policies) } : c));
  return view;
}
