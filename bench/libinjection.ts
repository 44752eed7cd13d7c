/**
 * The libinjection port (src/policies/waf/libinjection/) on its own: what
 * @detectSQLi and @detectXSS flag in the corpora, CPU per call, and (with the
 * C library present) agreement with libinjection on fresh random inputs.
 *
 *   node --import tsx bench/libinjection.ts [--oracle /tmp/li/oracle] [--fuzz 100000]
 *
 * Values are judged as CRS rules 942100/941100 see them: the value as the
 * request carries it (query and form values decoded once, JSON strings and
 * keys, the User-Agent), as UTF-8 bytes read as latin1, through the rule's
 * transformations (src/policies/waf/libinjection/testdata/transforms.ts). A
 * request counts as flagged when any of its values is. The last column is
 * @detectSQLi on the bytes without the transformations: utf8toUnicode then
 * urlDecodeUni keep the low byte of each code point (U+0627 ARABIC ALEF
 * becomes 0x27, a quote), which is ModSecurity's behaviour and most of
 * 942100's false positives on non-Latin text.
 *
 * Nothing in the port was tuned on these corpora (it follows the C code and
 * was checked against the C library), so every row is held out as far as
 * detection goes. Timing is CPU time (process.cpuUsage), not wall time: this
 * machine is shared.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectSQLi, detectXSS } from '../src/policies/waf/libinjection/index.js';
import { sqliChain, xssChain } from '../src/policies/waf/libinjection/testdata/transforms.js';
import { percentDecode } from '../src/policies/waf/decode.js';
import { blnsSections } from './corpora/blns.js';
import { generatedRequests } from './corpora/generated.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const oracle = args.includes('--oracle') ? args[args.indexOf('--oracle') + 1] : undefined;
const fuzzCount = args.includes('--fuzz') ? Number(args[args.indexOf('--fuzz') + 1]) : 50_000;

const bytes = (v: string): string => Buffer.from(v, 'utf8').toString('latin1');
const sqli = (v: string): boolean => detectSQLi(sqliChain(bytes(v))).detected;
/** The operator alone on the value's bytes, without the rule's transformations. */
const sqliRaw = (v: string): boolean => detectSQLi(bytes(v)).detected;
const xss = (v: string): boolean => detectXSS(xssChain(bytes(v)));

function lines(file: string, comments = false): string[] {
  return readFileSync(join(here, 'corpora', file), 'utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '' && !(comments && l.startsWith('#')));
}

/** Every string a JSON document holds, keys included (ARGS_NAMES and ARGS of a JSON body). */
function jsonStrings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (typeof v === 'number' || typeof v === 'boolean') out.push(String(v));
  else if (Array.isArray(v)) for (const x of v) jsonStrings(x, out);
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      jsonStrings(x, out);
    }
  return out;
}

function formValues(text: string): string[] {
  return text.split('&').flatMap((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0 ? [percentDecode(pair, true)] : [percentDecode(pair.slice(0, eq), true), percentDecode(pair.slice(eq + 1), true)];
  });
}

function packageJsonDocuments(limit: number): string[] {
  const out: string[] = [];
  const visit = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (out.length >= limit) return;
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.name.startsWith('@')) visit(path);
      else if (existsSync(join(path, 'package.json'))) out.push(readFileSync(join(path, 'package.json'), 'utf8'));
    }
  };
  visit(join(here, '..', 'node_modules'));
  return out;
}

interface Corpus {
  name: string;
  kind: 'sqli' | 'xss' | 'benign';
  /** Each request as the list of values the rules read. */
  requests: () => string[][];
}

const blns = blnsSections();
const single = (vs: string[]): string[][] => vs.map((v) => [v]);
const corpora: Corpus[] = [
  { name: 'libinjection sqli-misc', kind: 'sqli', requests: () => single(lines('libinjection/sqli-misc.txt', true).map((l) => percentDecode(l, true))) },
  { name: 'PATT SQLi auth bypass', kind: 'sqli', requests: () => single(lines('payloadsallthethings/sqli-auth-bypass.txt')) },
  { name: 'PATT SQLi auth bypass 2', kind: 'sqli', requests: () => single(lines('payloadsallthethings/sqli-auth-bypass2.txt', true)) },
  { name: 'PATT SQLi error-based', kind: 'sqli', requests: () => single(lines('payloadsallthethings/sqli-generic-errorbased.txt', true)) },
  { name: 'PATT SQLi time-based', kind: 'sqli', requests: () => single(lines('payloadsallthethings/sqli-generic-timebased.txt', true)) },
  { name: 'PATT SQLi FuzzDB MSSQL', kind: 'sqli', requests: () => single(lines('payloadsallthethings/sqli-fuzzdb-mssql.txt', true)) },
  { name: 'SecLists Generic-SQLi', kind: 'sqli', requests: () => single(lines('seclists/generic-sqli.txt')) },
  { name: 'blns SQL Injection', kind: 'sqli', requests: () => single(blns.filter((s) => s.category === 'sqli').flatMap((s) => s.strings)) },
  { name: 'PATT XSS (jhaddix)', kind: 'xss', requests: () => single(lines('payloadsallthethings/xss-jhaddix.txt')) },
  { name: 'PATT XSS (quick)', kind: 'xss', requests: () => single(lines('payloadsallthethings/xss-quick.txt')) },
  { name: 'blns Script Injection', kind: 'xss', requests: () => single(blns.filter((s) => s.category === 'xss').flatMap((s) => s.strings)) },
  { name: 'libinjection false positives (search box)', kind: 'benign', requests: () => single(lines('libinjection/false_positives.txt', true).map((l) => percentDecode(l, true))) },
  {
    name: 'blns benign sections',
    kind: 'benign',
    requests: () => single(blns.filter((s) => !s.category && s.name !== 'XXE Injection (XML)' && s.name !== 'Known CVEs and Vulnerabilities').flatMap((s) => s.strings)),
  },
  {
    name: 'generated API traffic (7 locales)',
    kind: 'benign',
    requests: () =>
      generatedRequests(300).map((r) => [r.userAgent, ...(r.kind === 'json' ? jsonStrings(JSON.parse(r.payload)) : formValues(r.payload))]),
  },
  { name: 'package.json documents', kind: 'benign', requests: () => packageJsonDocuments(2000).map((d) => jsonStrings(JSON.parse(d))) },
];

console.log('detection / false positives (requests flagged of total)');
console.log('corpus'.padEnd(44), 'n'.padStart(6), '  @detectSQLi      @detectXSS       either           SQLi, no t:');
const pct = (k: number, n: number): string => `${k}`.padStart(5) + ` ${((100 * k) / n).toFixed(1).padStart(5)}%`;
for (const c of corpora) {
  const reqs = c.requests();
  let s = 0;
  let x = 0;
  let e = 0;
  let r = 0;
  for (const values of reqs) {
    r += values.some(sqliRaw) ? 1 : 0;
    const hs = values.some(sqli);
    const hx = values.some(xss);
    s += hs ? 1 : 0;
    x += hx ? 1 : 0;
    e += hs || hx ? 1 : 0;
  }
  console.log(`${c.name} [${c.kind}]`.padEnd(44), `${reqs.length}`.padStart(6), ' ', pct(s, reqs.length), '  ', pct(x, reqs.length), '  ', pct(e, reqs.length), '  ', pct(r, reqs.length));
}

/** µs of CPU per call, after a warm-up. */
function cpuMicros(f: () => unknown, n: number): number {
  for (let i = 0; i < Math.min(n, 1000); i++) f();
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) f();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

console.log('\nCPU per call (µs), typical values');
const typical: Record<string, string> = {
  word: 'shoes',
  search: 'blue running shoes size 42',
  email: 'jane.o.connor@example.com',
  timestamp: '2024-01-01T10:00:00Z',
  'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'sqli attack': "1' or '1'='1",
  'xss attack': '<img src=x onerror=alert(1)>',
};
for (const [k, v] of Object.entries(typical)) {
  console.log(`  ${k.padEnd(14)} sqli ${cpuMicros(() => detectSQLi(v), 50_000).toFixed(2).padStart(6)}   xss ${cpuMicros(() => detectXSS(v), 50_000).toFixed(2).padStart(6)}`);
}

console.log('\nCPU per call (ms), 64 KB hostile values');
let seed = 1;
const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const punct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
let randomPunct = '';
for (let i = 0; i < 65536; i++) randomPunct += punct[Math.floor(rnd() * punct.length)];
const hostile: Record<string, string> = {
  'random punctuation': randomPunct,
  "'": "'".repeat(65536),
  "\\'": "\\'".repeat(32768),
  '/*': '/*'.repeat(32768),
  '/**/ ': '/**/ '.repeat(13107),
  '-': '-'.repeat(65536),
  '+': '+'.repeat(65536),
  '<': '<'.repeat(65536),
  '<a ': '<a '.repeat(21845),
  '<a\\0': '<a\0'.repeat(21845),
  '<!--': '<!--'.repeat(16384),
  '<a href=&#': '<a href=&#'.repeat(6553),
  '<a href="x">': '<a href="x">'.repeat(5461),
  '$a..a$': ('$a' + 'a'.repeat(100) + '$').repeat(630),
  NUL: '\0'.repeat(65536),
};
let worst = 0;
for (const [k, v] of Object.entries(hostile)) {
  const s = cpuMicros(() => detectSQLi(v), 20) / 1000;
  const x = cpuMicros(() => detectXSS(v), 20) / 1000;
  worst = Math.max(worst, s, x);
  console.log(`  ${JSON.stringify(k).padEnd(16)} sqli ${s.toFixed(3).padStart(7)}   xss ${x.toFixed(3).padStart(7)}`);
}
console.log(`  worst ${worst.toFixed(3)} ms`);

if (oracle) {
  // Fresh inputs every run (seeded by the clock), compared with the C library.
  const pieces = [..."'\"`()[]{},.;:-+*/%=<>!&|^~#@$\\?_ \t\n\0\xa0\xff", '1', '0x1f', '1e5', '1.e', '--', '/*', '*/', '/*!', '$$', "N'", "q'[", "U&'", '\\N', '@@',
    'select', 'union', 'all', 'or', 'and', 'not', 'in', 'like', 'user', 'sleep', 'from', 'where', 'if', 'into', 'outfile', 'collate', 'int', 'begin', 'declare', 'x', 'foo',
    '<', '>', '</', '/>', '<!--', '-->', '<!', '<?', '<%', '=', 'script', 'img', 'src', 'href', 'onerror', 'onx', 'style', 'xmlns', 'javascript:', '&#106;', '&#x6a;', 'data:', 'svg', 'xsl', 'doctype'];
  let fuzzSeed = Date.now() & 0x7fffffff;
  const frnd = (): number => ((fuzzSeed = (fuzzSeed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const inputs: string[] = [];
  for (let i = 0; i < fuzzCount; i++) {
    let s = '';
    const n = 1 + Math.floor(frnd() * 12);
    for (let j = 0; j < n; j++) s += pieces[Math.floor(frnd() * pieces.length)]! + (frnd() < 0.5 ? ' ' : '');
    if (!s.includes('\n')) inputs.push(s);
  }
  const hex = inputs.map((s) => Buffer.from(s, 'latin1').toString('hex')).join('\n') + '\n';
  const rows = execFileSync(oracle, { input: hex, encoding: 'latin1', maxBuffer: 1 << 30 }).trimEnd().split('\n');
  let sqliAgree = 0;
  let xssAgree = 0;
  let sqliPositive = 0;
  let xssPositive = 0;
  for (let i = 0; i < inputs.length; i++) {
    const [verdict, fp, , , , , , x] = rows[i]!.split('\t');
    const got = detectSQLi(inputs[i]!);
    if (got.detected === (verdict === '1') && got.fingerprint === fp) sqliAgree++;
    else if (sqliAgree - i > -10) console.log('  sqli differs:', JSON.stringify(inputs[i]), verdict, fp, got);
    if (detectXSS(inputs[i]!) === (x === '1')) xssAgree++;
    else if (xssAgree - i > -10) console.log('  xss differs:', JSON.stringify(inputs[i]), x);
    sqliPositive += verdict === '1' ? 1 : 0;
    xssPositive += x === '1' ? 1 : 0;
  }
  console.log(`\nagreement with the C library on ${inputs.length} fresh random inputs (seed ${fuzzSeed}):`);
  console.log(`  sqli verdict+fingerprint ${sqliAgree}/${inputs.length} (${sqliPositive} SQLi)   xss ${xssAgree}/${inputs.length} (${xssPositive} XSS)`);
}
