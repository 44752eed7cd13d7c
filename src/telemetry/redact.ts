/**
 * The one gate between what a decision site hands over and what an event
 * carries: the event type's schema (event-types.ts) says which detail fields
 * exist and what each may hold; everything else is dropped. A `sample` (client
 * data) is cut to SAMPLE_MAX characters with credential-looking parts masked,
 * and withheld whole when the event's target names a credential.
 */
import { isCredentialTargetName } from '../lib/credential-names.js';
import type { EventDetailValue } from './event.js';
import type { DetailKind, EventTypeSpec } from './event-types.js';

export const SAMPLE_MAX = 128;
export const TEXT_MAX = 200;
const ID_MAX = 256;
/** An audit record line: masked by the audit trail, kept whole so it verifies; a longer one is left out, not cut. */
const RECORD_MAX = 64 * 1024;
const REASON = /^[a-z0-9_]{1,64}$/;

/**
 * Targets whose values are credentials: the Authorization and Cookie headers
 * (and their proxy and API-key cousins), any cookie, and (isCredentialTargetName)
 * fields whose names say password, token, secret, key, session.
 */
const CREDENTIAL_HEADER_OR_COOKIE =
  /^(?:header:(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token|x-access-token)|cookie:.*)$/i;

/**
 * Credential-looking parts of free text: a JWT, an auth scheme's credential
 * (`Bearer …`), the value of `name=value` or `name: value` where the name says
 * secret, any long run of letters and digits together (keys, tokens, session
 * ids are long runs of base64 or hex; a long path of words is not), and long
 * digit runs (card numbers). A single left-to-right scan: the text is client
 * data, so no backtracking regular expression reads it.
 */
const SECRET_NAME = /pass|pwd|secret|token|api[_-]?key|access[_-]?key|session|auth|credential|cookie/i;
const SCHEMES = new Set(['bearer', 'basic', 'digest', 'negotiate', 'token', 'apikey']);
const OPAQUE_MIN = 24;
const DIGITS_KEPT = 6;

/** Letters, digits and the characters of base64, base64url and JWTs. */
function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2b || c === 0x2f || c === 0x5f || c === 0x2d || c === 0x2e;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Where a credential value ends: white space, a separator of pairs, or a quote. */
function endsValue(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x26 || c === 0x3b || c === 0x2c || c === 0x22;
}

function maskPart(part: string): string {
  let digit = false;
  let letter = false;
  let run = 0;
  let longest = 0;
  for (let i = 0; i < part.length; i++) {
    const c = part.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      digit = true;
      if (++run > longest) longest = run;
    } else {
      run = 0;
      if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) letter = true;
    }
  }
  if (part.length >= OPAQUE_MIN && digit && letter) return '[redacted]';
  if (longest <= DIGITS_KEPT) return part;
  let out = '';
  run = 0;
  for (let i = 0; i < part.length; i++) {
    const c = part.charCodeAt(i);
    run = c >= 0x30 && c <= 0x39 ? run + 1 : 0;
    out += run > DIGITS_KEPT ? '#' : part[i];
  }
  return out;
}

function maskWord(word: string): string {
  if (word.length < OPAQUE_MIN && word.length <= DIGITS_KEPT) return word;
  if (!word.includes('.')) return maskPart(word);
  if (word.startsWith('eyJ') && word.split('.').length >= 3) return '[jwt]';
  return word.split('.').map(maskPart).join('.');
}

/** The longest scheme name: longer words are not looked up. */
const SCHEME_MAX = 9;

/** Masks what looks like a credential in client-supplied or error text. */
export function maskCredentials(value: string): string {
  const n = value.length;
  let out = '';
  let i = 0;
  while (i < n) {
    if (!isWordChar(value.charCodeAt(i))) {
      out += value[i];
      i++;
      continue;
    }
    let j = i;
    while (j < n && isWordChar(value.charCodeAt(j))) j++;
    const word = value.slice(i, j);
    out += maskWord(word);
    i = j;
    const scheme = word.length <= SCHEME_MAX && SCHEMES.has(word.toLowerCase());
    const named = word.length >= 3 && SECRET_NAME.test(word);
    if (!scheme && !named) continue;
    // The value after it: "Bearer <v>", "password=<v>", "token: <v>", 'secret="<v>"', '"token":"<v>"'.
    let k = i;
    while (k < n && isSpace(value.charCodeAt(k))) k++;
    let pair = false;
    if (named) {
      let p = k;
      // a JSON or quoted key: "token": "…"
      if (value.charCodeAt(p) === 0x22 || value.charCodeAt(p) === 0x27) p++;
      while (p < n && isSpace(value.charCodeAt(p))) p++;
      const sep = value.charCodeAt(p);
      if (sep === 0x3d || sep === 0x3a) {
        pair = true;
        p++;
        while (p < n && isSpace(value.charCodeAt(p))) p++;
        if (value.charCodeAt(p) === 0x22) p++;
        k = p;
      }
    }
    if (!pair && (!scheme || k === i)) continue;
    let m = k;
    while (m < n && !endsValue(value.charCodeAt(m))) m++;
    if (m === k) continue;
    // "Authorization: Bearer x": the scheme name stays, the next turn masks its credential.
    let w = k;
    while (w < m && isWordChar(value.charCodeAt(w))) w++;
    if (pair && w === m && SCHEMES.has(value.slice(k, m).toLowerCase())) continue;
    out += value.slice(i, k) + '[redacted]';
    i = m;
  }
  return out;
}

/** Control characters escaped, so a sample cannot forge a log line or a terminal sequence. */
const CONTROL = /[\u0000-\u001f\u007f\u0080-\u009f\u2028\u2029]/;

function printable(value: string): string {
  if (!CONTROL.test(value)) return value;
  return value.replace(/[\u0000-\u001f\u007f\u0080-\u009f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : '?'));
}

function cut(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

/**
 * The request's host and path in events and access records: a sink whose
 * receiver is down queues thousands of records, and a 15 KB Host header made
 * each one 19 KB (190 MB for a queue of 10,000). A DNS name has at most 253
 * characters; a longer path is cut (the waf's sample keeps what matched).
 */
export const HOST_MAX = 256;
export const PATH_MAX = 2048;
export const clip = cut;


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
  return CREDENTIAL_HEADER_OR_COOKIE.test(target) || isCredentialTargetName(target);
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
    case 'record':
      return typeof value === 'string' && value.length <= RECORD_MAX ? value : undefined;
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
