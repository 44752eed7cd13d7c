/**
 * Names of the headers and query parameters that carry a credential under a
 * name the operator chose (key-auth's `header` and `query`, jwt's and
 * oauth2-introspection's `token.header` and `token.query`). The waf's CRS
 * engine remembers values across requests (policies/waf/crs/memo.ts) but
 * never a secret: it knows cookies and credential-looking names
 * (crs/engine.ts secretsOf), and learns these here, from the policies that
 * read them, since a policy does not know the others of its route.
 *
 * Process-wide and only added to: a name a reload stopped using still marks
 * its values as secrets, which costs them the memory, nothing else. Lower
 * case; bounded all the same (names come from the config).
 */
const names = new Set<string>();
const MAX_NAMES = 4096;

/** Declares a header or query parameter name that carries credentials. */
export function declareCredentialName(name: string): void {
  if (names.size < MAX_NAMES) names.add(name.toLowerCase());
}

/** Whether a policy declared `name` (a header or query parameter name, any case) as carrying credentials. */
export function isCredentialName(name: string): boolean {
  return names.size !== 0 && names.has(name.toLowerCase());
}
