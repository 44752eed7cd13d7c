/**
 * Adversarial inputs for the waf's detectors and decoders, and a way to tell
 * whether the work they cause grows linearly with the input's size.
 *
 * A generator repeats one short unit (an opening delimiter with no closer, a
 * separator, a quote, a nesting level, each detector's own trigger
 * characters) to a given size: the shape that makes a search "from here to
 * the closer" run once per unit, quadratic overall. A workload is one
 * detector or decoder called the way scan.ts calls it.
 *
 * Used by src/policies/waf/linear-time.test.ts (pass/fail, on ratios inside
 * one run) and bench/waf-worst-case.ts (µs/KB figures).
 */
import { forEachForm, foldFullWidth, htmlDecode, jsUnescape, percentDecode } from '../../src/policies/waf/decode.js';
import { detectLdap } from '../../src/policies/waf/detectors/ldap.js';
import { detectLfi } from '../../src/policies/waf/detectors/lfi.js';
import { detectProtoKey } from '../../src/policies/waf/detectors/proto.js';
import { detectRce } from '../../src/policies/waf/detectors/rce.js';
import { shellNormalize } from '../../src/policies/waf/detectors/shell-normalize.js';
import { detectJndi, detectTemplate, resolveLookups } from '../../src/policies/waf/detectors/template.js';
import { detectUrl } from '../../src/policies/waf/detectors/url.js';
import { detectXss } from '../../src/policies/waf/detectors/xss.js';
import { Exclusions } from '../../src/policies/waf/exclusions.js';
import { WafEngine } from '../../src/policies/waf/scan.js';
import { signalsOf } from '../../src/policies/waf/signals.js';
import { SqliDetector, rejoinSplitWords } from '../../src/policies/waf/sqli/index.js';

export interface Generator {
  readonly name: string;
  /** A value of exactly `size` characters. */
  make(size: number): string;
}

function repeat(name: string, unit: string, prefix = '', suffix = ''): Generator {
  return {
    name,
    make(size: number): string {
      const body = size - prefix.length - suffix.length;
      return prefix + unit.repeat(Math.ceil(body / unit.length)).slice(0, body) + suffix;
    },
  };
}

/** Nesting: n openers then n closers ("((((...))))", "${${${...}}}"). */
function nest(name: string, open: string, close: string): Generator {
  return {
    name,
    make(size: number): string {
      const n = Math.floor(size / (open.length + close.length));
      const core = open.repeat(n) + close.repeat(n);
      return core + 'x'.repeat(size - core.length);
    },
  };
}

/** Every opening template delimiter, each detector's separators and quotes, the decoders' escape introducers. */
const UNITS: ReadonlyArray<readonly [string, string]> = [
  // template and expression delimiters (detectTemplate, resolveLookups)
  ['{%', '{%'],
  ['{{', '{{'],
  ['${', '${'],
  ['#{', '#{'],
  ['*{', '*{'],
  ['@{', '@{'],
  ['<%', '<%'],
  ['<%=', '<%='],
  ['%{', '%{'],
  ['[[', '[['],
  ['@(', '@('],
  ['{% ', '{% '],
  ['${a}', '${a}'],
  ['${:-', '${:-'],
  ['}', '}'],
  // shell separators and what commandAt() skips after them (detectRce, shellNormalize)
  ['newline', '\n'],
  ['newline-space', '\n '],
  ['semicolon', ';'],
  ['semicolon-space', '; '],
  ['semicolon-paren', ';('],
  ['semicolon-brace', ';{'],
  ['pipe', '|'],
  ['amp', '&'],
  ['backtick', '`'],
  ['space-backtick', ' `'],
  ['dollar-paren', '$('],
  ['lt-paren', '<('],
  ['assignment', ';a=b '],
  ['runner', ';sudo '],
  ['brace-list', '{a,b'],
  ['dollar-brace-var', '${x'],
  ['dollar', '$'],
  ['backslash', '\\'],
  ['space', ' '],
  ['paren', '('],
  ['brace', '{'],
  // quotes (sqli contexts, shellNormalize's quoted words)
  ['single-quote', "'"],
  ['double-quote', '"'],
  ['quote-word', "'a"],
  ['quote-space', "' "],
  // markup (detectXss)
  ['lt', '<'],
  ['lt-a-space', '<a '],
  ['lt-svg', '<x '],
  ['on-attr', ' onx'],
  ['on-attr-eq', ' onclick '],
  ['colon', ':'],
  ['javascript-colon', 'javascript:'],
  ['data-colon', 'data:'],
  ['expression', ':expression '],
  ['alert-space', 'alert '],
  // paths (detectLfi)
  ['dot-dot', '..'],
  ['dot-dot-slash', '../'],
  ['slash', '/'],
  // sql (lexer, grammar, fold, rejoinSplitWords, hex literals)
  ['comment-open', '/*'],
  ['comment-word', 'a/*'],
  ['comment-close', '*/'],
  ['dash-dash', '-- '],
  ['hash', '#'],
  ['hex-prefix', '0x'],
  ['hex-literal', '0x41424344 '],
  ['or-1', ' or 1=1'],
  ['union', ' union select '],
  ['at', '@'],
  ['bracket', '['],
  ['comma', ','],
  // ldap
  ['ldap-or', '(|('],
  ['ldap-close-open', ')('],
  ['ldap-assert', ')(a:'],
  // decoders
  ['percent', '%'],
  ['percent-u', '%u'],
  ['percent-25', '%25'],
  ['amp-hash', '&#'],
  ['amp-name', '&amp'],
  ['amp-lt', '&lt;'],
  ['backslash-u', '\\u'],
  ['backslash-u-brace', '\\u{'],
  ['backslash-x', '\\x'],
  ['full-width', '\uff1c'],
  // url
  ['at-url', 'http://a@'],
  ['url-colon', 'http:'],
  // proto keys
  ['constructor', 'constructor'],
  // the obfuscation checks (issue 10 item 8)
  ['substring-expansion', '${a:1:'],
  ['ansi-c-quote', "$'\\"],
  ['global-bracket', "top['"],
  ['global-bracket-closed', "top['a']"],
  ['glob-path', ';/?/'],
  ['glob-star', '; /*'],
  ['shell-itself', ';$0 '],
  ['drive', '& dir c:'],
  ['division-slash', '..\u2215'],
];

export const GENERATORS: readonly Generator[] = [
  ...UNITS.map(([name, unit]) => repeat(name, unit)),
  nest('nest-paren', '(', ')'),
  nest('nest-brace', '{', '}'),
  nest('nest-bracket', '[', ']'),
  nest('nest-lookup', '${', '}'),
  nest('nest-template', '{{', '}}'),
  nest('nest-subshell', '$(', ')'),
  repeat('opener-then-filler', 'a', '{%'),
  repeat('url-long-authority', 'a@', 'http://'),
  repeat('javascript-long', 'a.', 'javascript:'),
  repeat('template-openers-near-closer', '{%'.repeat(199) + '%}'),
  repeat('glob-long-word', '?', '; /'),
  repeat('letters', 'a'),
];

export interface Workload {
  readonly name: string;
  run(value: string): unknown;
}

const sqli = new SqliDetector();
const exclusions = new Exclusions([]);
function engine(paranoia: 1 | 2): WafEngine {
  return new WafEngine({ paranoia, threshold: 1_000_000, disabled: new Set(), exclusions });
}
const engines = { 1: engine(1), 2: engine(2) };

export const WORKLOADS: readonly Workload[] = [
  { name: 'template', run: (v) => detectTemplate(v, v.toLowerCase(), 2, signalsOf(v)) },
  { name: 'jndi', run: (v) => detectJndi(v) },
  { name: 'resolveLookups', run: (v) => resolveLookups(v) },
  { name: 'rce', run: (v) => detectRce(v, v.toLowerCase(), 2, signalsOf(v)) },
  { name: 'shellNormalize', run: (v) => shellNormalize(v) },
  { name: 'xss', run: (v) => detectXss(v, v.toLowerCase(), 2, signalsOf(v)) },
  { name: 'lfi', run: (v) => detectLfi(v, v.toLowerCase(), 2, signalsOf(v)) },
  { name: 'url', run: (v) => detectUrl(v, 2, 'example.com') },
  { name: 'ldap', run: (v) => detectLdap(v) },
  { name: 'proto', run: (v) => detectProtoKey(v) },
  { name: 'sqli', run: (v) => sqli.check(v) },
  { name: 'rejoinSplitWords', run: (v) => rejoinSplitWords(v) },
  { name: 'signals', run: (v) => signalsOf(v) },
  { name: 'percentDecode', run: (v) => percentDecode(v, true) },
  { name: 'htmlDecode', run: (v) => htmlDecode(v) },
  { name: 'jsUnescape', run: (v) => jsUnescape(v) },
  { name: 'foldFullWidth', run: (v) => foldFullWidth(v) },
  { name: 'forEachForm', run: (v) => forEachForm(v, () => false) },
  // every detector on every decoded form, as scan.ts runs them on one value (nothing stops early: the threshold is unreachable)
  { name: 'scan-p1', run: (v) => forEachForm(v, (form) => engines[1].detect(form, 'example.com', () => false)) },
  { name: 'scan-p2', run: (v) => forEachForm(v, (form) => engines[2].detect(form, 'example.com', () => false)) },
];

export const SIZES_KB: readonly number[] = [8, 16, 32, 64];

/** Process CPU time in ms: time this process was not scheduled (the machine is shared) does not count. */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Time per KB at each size, each sample processing the same total amount of
 * input (64 KB × `rounds`): linear work gives equal figures, quadratic work
 * grows with the size (8× at 64 KB against 8 KB). The best of `samples`.
 */
export function perKb(workload: Workload, generator: Generator, sizesKb: readonly number[] = SIZES_KB, samples = 5, rounds = 1): number[] {
  const largest = Math.max(...sizesKb);
  const inputs = sizesKb.map((kb) => generator.make(kb * 1024));
  // warm up the JIT on a small input, then once on each size
  for (let i = 0; i < 20; i++) workload.run(inputs[0]!.slice(0, 1024));
  for (const input of inputs) workload.run(input);
  const best = sizesKb.map(() => Infinity);
  for (let s = 0; s < samples; s++) {
    sizesKb.forEach((kb, k) => {
      const times = (largest / kb) * rounds;
      const input = inputs[k]!;
      const start = cpuNow();
      for (let t = 0; t < times; t++) workload.run(input);
      const elapsed = cpuNow() - start;
      best[k] = Math.min(best[k]!, elapsed / (largest * rounds));
    });
  }
  return best.map((ms) => ms * 1000); // µs per KB
}
