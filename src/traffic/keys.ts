/**
 * "Who is this request counted as": the `by` setting shared by every traffic
 * policy. Parts: consumer, credential, ip (the real client IP, after
 * trusted_proxies), route, service, header:NAME, claim:NAME, or global (one
 * shared count). A part a request lacks (no consumer on a public route, no
 * such header) is replaced by the client IP, so leaving a header out never
 * escapes a limit.
 */
import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { RequestContext } from '../pipeline/context.js';

const KeyPart = Type.String({
  pattern: '^(consumer|credential|ip|route|service|global|header:[A-Za-z0-9!#$%&\'*+.^_`|~-]+|claim:[A-Za-z0-9_.:/-]+)$',
  description: 'consumer, credential, ip, route, service, global, header:NAME or claim:NAME',
});

export const KeyBySchema = (defaultValue: string, description: string) =>
  Type.Union([KeyPart, Type.Array(KeyPart, { minItems: 1, maxItems: 4 })], {
    default: defaultValue,
    description: `${description}. Parts: consumer, credential, ip, route, service, global, header:NAME, claim:NAME, or a list of up to 4`,
  });

export type KeyBy = Static<ReturnType<typeof KeyBySchema>>;

/** The `name` a traffic policy reports itself by (rate-limit, quota): shown in RateLimit-Policy and events. */
export const PolicyName = Type.String({ pattern: '^[A-Za-z0-9._-]{1,40}$', description: 'letters, digits, ".", "_", "-"' });

export type KeyFunction = (ctx: RequestContext) => string;

/** Longer values (headers, claims) are hashed so a key stays short whatever a client sends. */
const MAX_VALUE = 64;

export function keyParts(by: KeyBy): string[] {
  return typeof by === 'string' ? [by] : [...by];
}

/** A stable text for the setting, for namespaces. */
export function keySignature(by: KeyBy): string {
  return keyParts(by).join('+');
}

/** Whether every part names the caller (consumer, credential, ip, header, claim) rather than a route or service. */
export function keyedByCaller(by: KeyBy): boolean {
  return keyParts(by).every((p) => p !== 'route' && p !== 'service' && p !== 'global');
}

export function compileKey(by: KeyBy): KeyFunction {
  const parts = keyParts(by).map(partReader);
  if (parts.length === 1) return parts[0]!;
  return (ctx) => {
    let key = parts[0]!(ctx);
    for (let i = 1; i < parts.length; i++) key += '|' + parts[i]!(ctx);
    return key;
  };
}

function partReader(part: string): KeyFunction {
  const ip = (ctx: RequestContext) => 'ip=' + ctx.clientIp;
  switch (part) {
    case 'global':
      return () => 'global';
    case 'ip':
      return ip;
    case 'consumer':
      return (ctx) => (ctx.consumer ? 'c=' + ctx.consumer.name : ip(ctx));
    case 'credential':
      return (ctx) => (ctx.credentialId !== undefined ? 'k=' + safe(ctx.credentialId) : ip(ctx));
    case 'route':
      return (ctx) => 'r=' + (ctx.routeName ?? '');
    case 'service':
      return (ctx) => 's=' + (ctx.serviceName ?? '');
  }
  if (part.startsWith('header:')) {
    const name = part.slice(7).toLowerCase();
    return (ctx) => {
      const value = ctx.header(name);
      return value === undefined || value === '' ? ip(ctx) : `h.${name}=` + safe(value);
    };
  }
  const claim = part.slice(6);
  return (ctx) => {
    const value = ctx.claims?.[claim];
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return ip(ctx);
    return `j.${claim}=` + safe(String(value));
  };
}

/** Client-chosen text made safe as part of a key: no separators, bounded length. */
function safe(value: string): string {
  if (value.length <= MAX_VALUE && /^[\w.@:/+-]*$/.test(value)) return value;
  return '#' + createHash('sha256').update(value).digest('base64url').slice(0, 22);
}
