/**
 * Small versions of the ModSecurity transformations CRS rules 942100 and
 * 941100 apply before libinjection (values are bytes read as latin1), for
 * the CRS stage test and bench/libinjection.ts. Not the SecLang engine's:
 * enough for test payloads and corpora, not a reference.
 */
export const hex = (c: string): number => parseInt(c, 16);
const isHex = (s: string): boolean => /^[0-9a-fA-F]+$/.test(s);

/** ModSecurity's argument decoding: %XX and '+'; malformed escapes stay. Bytes as latin1. */
export function urlDecode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '+') out += ' ';
    else if (c === '%' && isHex(s.slice(i + 1, i + 3)) && i + 2 < s.length) {
      out += String.fromCharCode(hex(s.slice(i + 1, i + 3)));
      i += 2;
    } else out += c;
  }
  return out;
}

/** t:urlDecodeUni: urlDecode plus %uXXXX (full-width ASCII to ASCII, otherwise the low byte). */
export function urlDecodeUni(s: string): string {
  return urlDecode(
    s.replace(/%u([0-9a-fA-F]{4})/g, (_m, h: string) => {
      const code = hex(h);
      const byte = code >= 0xff01 && code <= 0xff5e ? code - 0xfee0 : code & 0xff;
      return `%${byte.toString(16).padStart(2, '0')}`;
    }),
  );
}

/** t:utf8toUnicode: multi-byte UTF-8 sequences (bytes as latin1) become %uXXXX. */
export function utf8toUnicode(s: string): string {
  return s.replace(/[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}/g, (m) => {
    const cp = Buffer.from(m, 'latin1').toString('utf8').codePointAt(0)!;
    return `%u${cp.toString(16).padStart(4, '0')}`;
  });
}

/** t:htmlEntityDecode: numeric entities (semicolon optional) and the named ones ModSecurity knows. */
export function htmlEntityDecode(s: string): string {
  const named: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', nbsp: '\xa0' };
  return s.replace(/&(?:#[xX]([0-9a-fA-F]+);?|#([0-9]+);?|(quot|amp|lt|gt|nbsp);)/g, (m, h?: string, d?: string, n?: string) => {
    if (h) return String.fromCharCode(hex(h) & 0xff);
    if (d) return String.fromCharCode(Number(d) & 0xff);
    return named[n!] ?? m;
  });
}

/** t:jsDecode: \xHH, \uHHHH, \OOO, the letter escapes, and \c as c. */
export function jsDecode(s: string): string {
  const letters: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
  return s.replace(/\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|([0-7]{1,3})|([\s\S]))/g, (_m, x?: string, u?: string, o?: string, c?: string) => {
    if (x) return String.fromCharCode(hex(x));
    if (u) {
      const code = hex(u);
      return String.fromCharCode(code >= 0xff01 && code <= 0xff5e ? code - 0xfee0 : code & 0xff);
    }
    if (o) return String.fromCharCode(parseInt(o, 8) & 0xff);
    return letters[c!] ?? c!;
  });
}

/** t:cssDecode: \H..HHHHHH (one optional white space after) and \c as c. */
export function cssDecode(s: string): string {
  return s.replace(/\\(?:([0-9a-fA-F]{1,6})[ \t\n\f\r]?|([\s\S]))/g, (_m, h?: string, c?: string) => (h ? String.fromCharCode(hex(h) & 0xff) : c!));
}

export const removeNulls = (s: string): string => s.replaceAll('\0', '');


/** 942100's chain: t:utf8toUnicode,t:urlDecodeUni,t:removeNulls. */
export const sqliChain = (v: string): string => removeNulls(urlDecodeUni(utf8toUnicode(v)));

/** 941100's chain: t:utf8toUnicode,t:urlDecodeUni,t:htmlEntityDecode,t:jsDecode,t:cssDecode,t:removeNulls. */
export const xssChain = (v: string): string => removeNulls(cssDecode(jsDecode(htmlEntityDecode(urlDecodeUni(utf8toUnicode(v))))));
