/**
 * Response headers that tell a client where it stands: RateLimit-Policy and
 * RateLimit as in the IETF httpapi draft (draft-ietf-httpapi-ratelimit-headers-11:
 * `RateLimit-Policy: "1m";q=100;w=60`, `RateLimit: "1m";r=42;t=17`), and the
 * older X-RateLimit-Limit / X-RateLimit-Remaining pair that many clients read.
 * Several policies on one request add items to the same lists.
 */
import type { OutgoingHttpHeaders } from 'node:http';

export interface QuotaPolicy {
  /** The policy's name in the headers: letters, digits and - _ . only. */
  readonly name: string;
  readonly quota: number;
  readonly windowMs: number;
  /** X-RateLimit-Limit-<suffix> when several limits apply; none for the headline one. */
  readonly suffix: string | undefined;
}

/** `"name";q=100;w=60` */
export function policyItem(p: QuotaPolicy): string {
  return `"${p.name}";q=${p.quota};w=${Math.max(1, Math.round(p.windowMs / 1000))}`;
}

/** `"name";r=42;t=17` */
export function limitItem(name: string, remaining: number, resetMs: number): string {
  return `"${name}";r=${Math.max(0, remaining)};t=${Math.max(0, Math.ceil(resetMs / 1000))}`;
}

/** Adds `value` to a list-valued header, after what other policies put there. */
export function appendListHeader(headers: OutgoingHttpHeaders, name: string, value: string): void {
  const current = headers[name];
  headers[name] = current === undefined ? value : `${Array.isArray(current) ? current.join(', ') : String(current)}, ${value}`;
}

/**
 * Writes the headers for one policy's limits: `remaining[i]` and `resetMs[i]`
 * belong to `policies[i]`. The X- pair carries the tightest limit; with
 * several limits each also gets X-RateLimit-Limit-<window> / -Remaining-<window>.
 */
export function writeRateLimitHeaders(
  headers: OutgoingHttpHeaders,
  policies: readonly QuotaPolicy[],
  policyHeader: string,
  remaining: readonly number[],
  resetMs: readonly number[],
  prefix = 'x-ratelimit',
): void {
  appendListHeader(headers, 'ratelimit-policy', policyHeader);
  let tightest = 0;
  for (let i = 0; i < policies.length; i++) {
    const p = policies[i]!;
    appendListHeader(headers, 'ratelimit', limitItem(p.name, remaining[i]!, resetMs[i]!));
    if (remaining[i]! < remaining[tightest]!) tightest = i;
    if (p.suffix) {
      headers[`${prefix}-limit-${p.suffix}`] = String(p.quota);
      headers[`${prefix}-remaining-${p.suffix}`] = String(Math.max(0, remaining[i]!));
    }
  }
  const names = prefix === 'x-ratelimit' ? X_RATELIMIT : { limit: `${prefix}-limit`, remaining: `${prefix}-remaining` };
  headers[names.limit] = String(policies[tightest]!.quota);
  headers[names.remaining] = String(Math.max(0, remaining[tightest]!));
}

/** The usual names made once: a name built per request is a new string V8 must hash before it can be a key. */
const X_RATELIMIT = { limit: 'x-ratelimit-limit', remaining: 'x-ratelimit-remaining' };
