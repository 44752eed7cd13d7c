/**
 * Editing a Cookie request header: what the pipeline uses to keep the
 * cookies policies own (session cookies, token cookies) from reaching an
 * upstream. A helper below every layer, so the pipeline and identity/ do not
 * import each other.
 */

/** The Cookie header without any of the `names`; undefined when nothing is left. */
export function withoutCookies(header: string, names: ReadonlySet<string>): string | undefined {
  const kept = header
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p !== '' && !names.has(p.slice(0, p.indexOf('=') === -1 ? p.length : p.indexOf('=')).trim()));
  return kept.length > 0 ? kept.join('; ') : undefined;
}
