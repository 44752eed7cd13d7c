/**
 * SecLang operators. Each compiles once at load; at run time it gets the
 * transformed value (a byte string) and the rule's run context, and says
 * whether it matched (captures go to run.captures when the rule asks).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import RE2 from 're2';
import { detectSQLi, detectXSS } from '../libinjection/index.js';
import { PhraseMatcher } from './aho.js';

export interface OperatorRun {
  /** Expands %{...} macros in an operator argument. */
  expand(text: string): string;
  /** Set when the rule has "capture": the operator writes TX.0..TX.9 here. */
  captures: string[] | undefined;
}

export interface Operator {
  readonly name: string;
  readonly argument: string;
  /** A static, non-negated @rx: its pattern can join a RE2.Set that prefilters many rules in one pass. */
  readonly setPattern?: string;
  match(value: string, run: OperatorRun): boolean;
  /** A literal every match must contain (lower-cased), when the operator knows one: a cheap prefilter. */
  readonly required?: string;
  /** @pm's phrases: every match holds one of them (the literal prefilter's input, as @rx's required literals are). */
  readonly phrases?: readonly string[];
  /** The answer depends on the value alone (a fixed argument, no macro): a "no match" may be remembered across requests. */
  readonly pure?: boolean;
}

export class OperatorError extends Error {}

/** The pattern as RE2 is handed it: non-ASCII text read as its UTF-8 bytes, like the values; DOTALL as ModSecurity compiles (no multi-line: "^" is the start of the value). */
export function bytePattern(pattern: string): string {
  const ascii = [...pattern].every((c) => c.charCodeAt(0) < 0x80);
  return `(?s)${ascii ? pattern : Buffer.from(pattern, 'utf8').toString('latin1')}`;
}

/** RE2 on byte strings. */
export function compileRegex(pattern: string, extraFlags = ''): RE2 {
  return new RE2(bytePattern(pattern), extraFlags);
}

function toInt(s: string): number {
  // digits only (a TX score, a count): what nearly every comparison reads, without the regex
  const n = s.length;
  if (n > 0 && n < 10) {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return toIntSlow(s);
      v = v * 10 + c;
    }
    return v;
  }
  return toIntSlow(s);
}

function toIntSlow(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? parseInt(m[1]!, 10) : 0;
}

/** A number comparison; its argument read once at load when it holds no macro (the paranoia gates, 901's checks). */
function numeric(compare: (a: number, b: number) => boolean): Factory {
  return (a) => {
    if (!dynamic(a)) {
      const b = toInt(a);
      return (v) => compare(toInt(v), b);
    }
    return (v, run) => compare(toInt(v), toInt(run.expand(a)));
  };
}

function byteRanges(arg: string): Uint8Array {
  const allowed = new Uint8Array(256);
  for (const part of arg.split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(p);
    if (!m) throw new OperatorError(`bad byte range ${JSON.stringify(p)}`);
    const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
    if (a > 255 || b > 255 || a > b) throw new OperatorError(`bad byte range ${JSON.stringify(p)}`);
    for (let i = a; i <= b; i++) allowed[i] = 1;
  }
  return allowed;
}

function invalidUrlEncoding(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '%') continue;
    if (i + 2 >= s.length) return true;
    if (!/[0-9a-fA-F]/.test(s[i + 1]!) || !/[0-9a-fA-F]/.test(s[i + 2]!)) return true;
    i += 2;
  }
  return false;
}

function invalidUtf8(s: string): boolean {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    let len: number;
    let min: number;
    let code: number;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      min = 0x80;
      code = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      min = 0x800;
      code = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      min = 0x10000;
      code = c & 0x07;
    } else return true;
    if (i + len > n) return true;
    for (let k = 1; k < len; k++) {
      const cc = s.charCodeAt(i + k);
      if ((cc & 0xc0) !== 0x80) return true;
      code = (code << 6) | (cc & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return true;
    i += len - 1;
  }
  return false;
}

interface Cidr {
  v6: boolean;
  bytes: Buffer;
  bits: number;
}

function ipBytes(ip: string): Buffer | undefined {
  const kind = isIP(ip);
  if (kind === 4) return Buffer.from(ip.split('.').map(Number));
  if (kind !== 6) return undefined;
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  const groups = [...h, ...fill, ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) & 0xffff, i * 2));
  return out;
}

function parseCidrs(list: string[]): Cidr[] {
  return list.map((item) => {
    const [addr, bitsText] = item.trim().split('/');
    const bytes = ipBytes(addr!);
    if (!bytes) throw new OperatorError(`bad address ${JSON.stringify(item)}`);
    const bits = bitsText === undefined ? bytes.length * 8 : Number(bitsText);
    if (!Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) throw new OperatorError(`bad prefix ${JSON.stringify(item)}`);
    return { v6: bytes.length === 16, bytes, bits };
  });
}

function inCidr(ip: Buffer, c: Cidr): boolean {
  if (ip.length !== c.bytes.length) return false;
  let bits = c.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (c.bytes[i]! & mask)) return false;
  }
  return true;
}

function dataFileLines(arg: string, ruleFile: string): string[] {
  const out: string[] = [];
  for (const name of arg.split(/\s+/).filter(Boolean)) {
    if (/^https?:/i.test(name)) throw new OperatorError(`remote data files are not fetched: ${name}`);
    const path = resolve(dirname(ruleFile), name);
    let text: string;
    try {
      text = readFileSync(path, 'latin1');
    } catch {
      throw new OperatorError(`cannot read data file ${path}`);
    }
    for (const line of text.split(/\r?\n/)) {
      const l = line.trim();
      if (l !== '' && !l.startsWith('#')) out.push(l);
    }
  }
  return out;
}

function dynamic(argument: string): boolean {
  return argument.includes('%{');
}

type Matcher = ((value: string, run: OperatorRun) => boolean) & { phrases?: readonly string[] };

function withPhrases(pm: PhraseMatcher, fn: Matcher): Matcher {
  fn.phrases = pm.phrases;
  return fn;
}

type Factory = (argument: string, ruleFile: string) => (value: string, run: OperatorRun) => boolean;

const FACTORIES: Record<string, Factory> = {
  rx(argument) {
    if (dynamic(argument)) {
      const compiled = new Map<string, RE2>();
      return (value, run) => {
        const pattern = run.expand(argument);
        let re = compiled.get(pattern);
        if (!re) {
          re = compileRegex(pattern);
          if (compiled.size < 64) compiled.set(pattern, re);
        }
        return re.test(value);
      };
    }
    let re: RE2;
    try {
      re = compileRegex(argument);
    } catch (e) {
      throw new OperatorError(`regex does not compile on RE2: ${(e as Error).message}`);
    }
    return (value, run) => {
      if (!run.captures) return re.test(value);
      const m = re.exec(value);
      if (!m) return false;
      for (let i = 0; i < 10 && i < m.length; i++) run.captures[i] = m[i] ?? '';
      return true;
    };
  },
  pm(argument) {
    const pm = new PhraseMatcher(argument.split(/\s+/).filter(Boolean));
    return withPhrases(pm, (value, run) => {
      const found = pm.find(value);
      if (found === undefined) return false;
      if (run.captures) run.captures[0] = found;
      return true;
    });
  },
  pmfromfile(argument, ruleFile) {
    const pm = new PhraseMatcher(dataFileLines(argument, ruleFile));
    return withPhrases(pm, (value, run) => {
      const found = pm.find(value);
      if (found === undefined) return false;
      if (run.captures) run.captures[0] = found;
      return true;
    });
  },
  streq: (a) => (v, run) => v === run.expand(a),
  strmatch: (a) => (v, run) => v.includes(run.expand(a)),
  contains: (a) => (v, run) => v.includes(run.expand(a)),
  containsword(a) {
    return (v, run) => {
      const w = run.expand(a);
      if (w === '') return true;
      let i = v.indexOf(w);
      while (i !== -1) {
        const before = i === 0 ? '' : v[i - 1]!;
        const after = v[i + w.length] ?? '';
        if (!/\w/.test(before) && !/\w/.test(after)) return true;
        i = v.indexOf(w, i + 1);
      }
      return false;
    };
  },
  beginswith: (a) => (v, run) => v.startsWith(run.expand(a)),
  endswith: (a) => (v, run) => v.endsWith(run.expand(a)),
  within: (a) => (v, run) => (v === '' ? false : run.expand(a).includes(v)),
  eq: numeric((x, y) => x === y),
  ge: numeric((x, y) => x >= y),
  gt: numeric((x, y) => x > y),
  le: numeric((x, y) => x <= y),
  lt: numeric((x, y) => x < y),
  unconditionalmatch: () => () => true,
  nomatch: () => () => false,
  validatebyterange(a) {
    const allowed = byteRanges(a);
    return (v) => {
      for (let i = 0; i < v.length; i++) if (!allowed[v.charCodeAt(i) & 0xff]) return true;
      return false;
    };
  },
  validateurlencoding: () => (v) => invalidUrlEncoding(v),
  validateutf8encoding: () => (v) => invalidUtf8(v),
  ipmatch(a) {
    const cidrs = parseCidrs(a.split(',').filter((s) => s.trim() !== ''));
    return (v) => {
      const ip = ipBytes(v.startsWith('::ffff:') && isIP(v.slice(7)) === 4 ? v.slice(7) : v);
      return ip !== undefined && cidrs.some((c) => inCidr(ip, c));
    };
  },
  ipmatchfromfile(a, ruleFile) {
    const cidrs = parseCidrs(dataFileLines(a, ruleFile));
    return (v) => {
      const ip = ipBytes(v);
      return ip !== undefined && cidrs.some((c) => inCidr(ip, c));
    };
  },
  detectsqli() {
    return (v, run) => {
      // libinjection reads bytes; the detectors take the text as given
      const r = detectSQLi(v);
      if (r.detected && run.captures) run.captures[0] = r.fingerprint;
      return r.detected;
    };
  },
  detectxss: () => (v) => detectXSS(v),
};
FACTORIES.pmf = FACTORIES.pmfromfile!;
FACTORIES.ipmatchf = FACTORIES.ipmatchfromfile!;

export const OPERATOR_NAMES: ReadonlySet<string> = new Set(Object.keys(FACTORIES));

/** Operators whose (lower-cased) literal argument must appear in a matching value. */
const LITERAL = new Set(['streq', 'contains', 'beginswith', 'endswith', 'strmatch']);

/** Operators whose answer, with a fixed argument, is a function of the value alone. */
const PURE = new Set([
  'rx', 'pm', 'pmfromfile', 'pmf', 'detectsqli', 'detectxss', 'validatebyterange', 'validateurlencoding', 'validateutf8encoding', 'streq',
  'contains', 'containsword', 'beginswith', 'endswith', 'strmatch', 'within',
]);
const CAPTURING = new Set(['rx', 'pm', 'pmfromfile', 'pmf', 'detectsqli']);

export function compileOperator(name: string, argument: string, negated: boolean, ruleFile: string): Operator {
  const key = name.toLowerCase();
  const factory = FACTORIES[key];
  if (!factory) throw new OperatorError(`unknown operator @${name}`);
  const fn = factory(argument, ruleFile);
  const required = !negated && LITERAL.has(key) && !dynamic(argument) && argument !== '' ? argument : undefined;
  // a negated operator that captures may write captures on the value it does not match: not remembered
  const pure = PURE.has(key) && !dynamic(argument) && !(negated && CAPTURING.has(key));
  if (negated) {
    return { name: key, argument, match: (v, run) => !fn(v, run), pure };
  }
  const setPattern = key === 'rx' && !dynamic(argument) ? argument : undefined;
  const phrases = (fn as Matcher).phrases;
  return { name: key, argument, match: fn, required, setPattern, phrases, pure };
}
