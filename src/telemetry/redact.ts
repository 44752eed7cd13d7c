/**
 * The one gate between what a decision site hands over and what an event
 * carries: the event type's schema (event-types.ts) says which detail fields
 * exist and what each may hold; everything else is dropped. A `sample` (client
 * data) is cut to SAMPLE_MAX characters with credential-looking parts masked,
 * and withheld whole when the event's target names a credential.
 */
import type { EventDetailValue } from './event.js';
import type { DetailKind, EventTypeSpec } from './event-types.js';

export const SAMPLE_MAX = 128;
export const TEXT_MAX = 200;
const ID_MAX = 256;
const REASON = /^[a-z0-9_]{1,64}$/;

/**
 * Targets whose values are credentials: the Authorization and Cookie headers
 * (and their proxy and API-key cousins), any cookie, and fields whose names
 * say password, token, secret, key, session.
 */
const CREDENTIAL_TARGET =
  /^(?:header:(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token|x-access-token)|cookie:.*)$|pass|pwd|secret|token|api.?key|(?:^|[.:_-])key$|auth|session|sessid|csrf|xsrf|credential|cvv|cvc|ssn|iban|otp|(?:^|[.:_-])pin$/i;

/**
 * Credential-looking parts of free text: a JWT, an auth scheme with its
 * credential, `name=value` where the name says secret, and any long opaque
 * run of letters and digits together (keys, tokens, session ids are long
 * runs of base64 or hex; a long path of words is not).
 */
const JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
const SCHEME = /\b(Bearer|Basic|Digest|Negotiate|Token|ApiKey)\s+[^\s,;"']+/gi;
const SECRET_PAIR = /\b([A-Za-z0-9_.-]*(?:pass|pwd|secret|token|api[_-]?key|access[_-]?key|session|auth|credential)[A-Za-z0-9_.-]*)(\s*[=:]\s*"?)[^\s&;,"]+/gi;
const OPAQUE = /[A-Za-z0-9+/_-]{24,}={0,2}/g;
const LONG_DIGITS = /\d{7,}/g;

/** Control characters escaped, so a sample cannot forge a log line or a terminal sequence. */
function printable(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f\u0080-\u009f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : '?'));
}

function cut(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

/** Masks what looks like a credential in client-supplied or error text. */
export function maskCredentials(value: string): string {
  return value
    .replace(JWT, '[jwt]')
    .replace(SCHEME, '$1 [redacted]')
    .replace(SECRET_PAIR, '$1$2[redacted]')
    .replace(OPAQUE, (run) => (/\d/.test(run) && /[A-Za-z]/.test(run) ? '[redacted]' : run))
    .replace(LONG_DIGITS, (d) => d.slice(0, 6) + '#'.repeat(Math.min(d.length - 6, 16)));
}

/** A sample of client data: at most SAMPLE_MAX characters (cut before masking, so a secret cut in half is still masked). */
export function sample(value: string): string {
  const head = value.length > SAMPLE_MAX * 2 ? value.slice(0, SAMPLE_MAX * 2) : value;
  return cut(printable(maskCredentials(head)), SAMPLE_MAX);
}

/** A sentence the gateway wrote, which may quote an error from elsewhere: masked and cut too. */
export function text(value: string): string {
  return cut(printable(maskCredentials(value.length > TEXT_MAX * 2 ? value.slice(0, TEXT_MAX * 2) : value)), TEXT_MAX);
}

function id(value: string): string {
  return cut(printable(value), ID_MAX);
}

/** Whether a waf-style target (`header:authorization`, `body:user.password`) names a credential. */
export function isCredentialTarget(target: string): boolean {
  return CREDENTIAL_TARGET.test(target);
}

function clean(kind: DetailKind, value: EventDetailValue, credential: boolean): EventDetailValue | undefined {
  switch (kind) {
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    case 'bool':
      return typeof value === 'boolean' ? value : undefined;
    case 'id':
      return typeof value === 'string' || typeof value === 'number' ? id(String(value)) : undefined;
    case 'text':
      return typeof value === 'string' ? text(value) : undefined;
    case 'sample':
      if (typeof value !== 'string') return undefined;
      return credential ? '[redacted]' : sample(value);
  }
}

/** The details an event may carry: declared fields only, each cleaned by its kind. */
export function cleanDetails(
  spec: EventTypeSpec,
  data: Readonly<Record<string, EventDetailValue | undefined>> | undefined,
): Readonly<Record<string, EventDetailValue>> | undefined {
  if (data === undefined) return undefined;
  const target = data.target;
  const credential = typeof target === 'string' && isCredentialTarget(target);
  let out: Record<string, EventDetailValue> | undefined;
  for (const name in data) {
    if (!Object.hasOwn(spec.details, name)) continue;
    const value = data[name];
    if (value === undefined) continue;
    const cleaned = clean(spec.details[name]!, value, credential);
    if (cleaned !== undefined) (out ??= {})[name] = cleaned;
  }
  return out;
}

/** A reason is a stable token the type lists (or any short token, for a type that lists none). */
export function cleanReason(spec: EventTypeSpec, reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  if (spec.reasons) return spec.reasons.includes(reason) ? reason : undefined;
  return REASON.test(reason) ? reason : undefined;
}
