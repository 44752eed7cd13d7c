/**
 * Placeholder: replaced by the libinjection branch at merge. The CRS engine
 * imports @detectSQLi and @detectXSS from here; until then they find nothing.
 */
export function detectSQLi(input: string): { detected: boolean; fingerprint: string } {
  void input;
  return { detected: false, fingerprint: '' };
}

export function detectXSS(input: string): boolean {
  void input;
  return false;
}
