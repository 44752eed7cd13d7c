/**
 * SPIFFE IDs (spiffe://trust-domain/path), checked as the SPIFFE ID spec
 * defines them: a lower-case trust domain, path segments of letters, digits,
 * ".", "-" and "_", no query, fragment, port or user info.
 */
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Why `id` is not a valid SPIFFE ID, or undefined when it is. */
export function spiffeIdProblem(id: string): string | undefined {
  if (!id.startsWith('spiffe://')) return 'a SPIFFE ID starts with "spiffe://"';
  if (id.length > 2048) return 'a SPIFFE ID is at most 2048 bytes';
  const rest = id.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const domain = slash === -1 ? rest : rest.slice(0, slash);
  if (!TRUST_DOMAIN.test(domain)) return `the trust domain "${domain}" may hold only lower-case letters, digits, ".", "-" and "_"`;
  if (slash === -1) return 'a workload SPIFFE ID needs a path, such as spiffe://example.org/ns/prod/sa/orders';
  const path = rest.slice(slash + 1);
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') return 'the path may not have empty, "." or ".." segments';
    if (!SEGMENT.test(segment)) return `the path segment "${segment}" may hold only letters, digits, ".", "-" and "_"`;
  }
  return undefined;
}
