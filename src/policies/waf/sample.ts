import { isCredentialFieldName } from '../../lib/credential-names.js';

export const SAMPLE_LENGTH = 80;

/**
 * What a security event may show of the value that matched: enough for an
 * analyst to see the attack, never a secret. Values of fields whose names
 * suggest a credential are withheld; long digit runs (card numbers, phone
 * numbers) are masked; control characters are escaped; the length is capped.
 */
export function redactSample(value: string, target: string): string {
  const colon = target.indexOf(':');
  const name = colon === -1 ? '' : target.slice(colon + 1);
  if (isCredentialFieldName(name) || target.startsWith('cookie:') || target === 'header:authorization') return '[redacted]';
  let out = '';
  let digits = 0;
  for (let i = 0; i < value.length && out.length < SAMPLE_LENGTH; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      digits++;
      // keep short numbers (1=1, sleep(5)); mask the rest of a long run
      out += digits > 6 ? '#' : value[i];
      continue;
    }
    digits = 0;
    if (c < 0x20 || c === 0x7f) out += c === 0 ? '\\0' : c === 0x0a ? '\\n' : c === 0x0d ? '\\r' : c === 0x09 ? '\\t' : '?';
    else out += value[i];
  }
  return value.length > out.length ? `${out}…` : out;
}
