/**
 * Regenerates src/policies/waf/libinjection/testdata/*.jsonl: inputs with the
 * verdicts and fingerprints of the real libinjection (oracle.c, linked against
 * Debian's libmodsecurity3), for the data-driven test beside the port.
 *
 * Inputs: every line of the attack and false-positive lists in bench/corpora,
 * the Big List of Naughty Strings (as UTF-8 bytes), and seeded random strings
 * built from SQL and HTML fragments. The "dev" fuzz seed is the one the port
 * was debugged against; the "heldout" seed was generated and compared only
 * once the port passed the rest, so its agreement is an honest figure.
 *
 *   apt-get install libmodsecurity3 && cc -O2 -o /tmp/li/oracle bench/libinjection-oracle/oracle.c /usr/lib/x86_64-linux-gnu/libmodsecurity.so.3
 *   ORACLE=/tmp/li/oracle node --import tsx bench/libinjection-oracle/make-vectors.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blnsSections } from '../corpora/blns.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const oracle = process.env.ORACLE ?? '/tmp/li/oracle';
const outDir = join(root, 'src/policies/waf/libinjection/testdata');

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SQL_PIECES = [
  ...`' " \` ( ) [ ] { } , . ; : - + * / % = < > ! & | ^ ~ # @ $ \\ ? _`.split(' '),
  ' ', ' ', ' ', '\t', '\n', '\r', '\v', '\f', '\xa0', '\0', '\x01', '\xe9', '\xff', '\x80',
  '0', '1', '7', '42', '3.14', '1e5', '1.e', '.5', '0x1f', '0x', '0b01', '1f', '2d', '1fUNION',
  '--', '-- ', '#', '/*', '*/', '/*!', '/**/', '/*/*', '*/*', '$$', '$a$', '$foo$', '$1,000', '$.',
  "N'", "n'", "q'[", "Q'(", "nq'<", "U&'", "e'", "E'", "b'01'", "x'ab'", "X'zz", '\\N', '@@', '@', '@`', "@'",
  '::', '<=>', '!=', '<>', '||', '&&', '!!', '||/', ':=',
  'select', 'SELECT', 'union', 'UNION ALL', 'all', 'from', 'where', 'and', 'or', 'OR', 'not', 'NOT IN', 'in', 'like',
  'sleep', 'benchmark', 'version', 'user', 'database', 'password', 'current_user', 'char', 'concat', 'if', 'IF',
  'exists', 'order', 'by', 'group', 'having', 'limit', 'into', 'outfile', 'INTO OUTFILE', 'insert', 'update', 'delete',
  'drop', 'table', 'waitfor', 'delay', 'exec', 'declare', 'begin', 'case', 'when', 'then', 'else', 'end', 'null',
  'is', 'collate', 'utf8_bin', 'cast', 'as', 'int', 'varchar', 'binary', 'sp_password', 'xp_cmdshell', 'top',
  'foo', 'bar', 'x', 'a', 'abc', 'id', 'name', 'admin', 'tbl.col', 'SELECT.1', 'select`x`', 'a_b', '{', '}', '{ ``',
];
const HTML_PIECES = [
  '<', '>', '</', '/>', '<!--', '-->', '--!>', '<!', '<?', '?>', '<![CDATA[', ']]>', '=', '"', "'", '`', ' ', ' ', '/', '\t', '\n',
  '\f', '\r', '\v', '\0', '\xa0', '\x01', '\xe9', '&', '&#', '&#x', ';', '#', ':', '(', ')', '.', ',', '-', '+',
  'script', 'SCRIPT', 'img', 'src', 'onerror', 'onload', 'on', 'onx', 'ON', 'javascript:', 'java\tscript:', 'JaVaScRiPt:',
  'data:', 'vbscript:', 'view-source:', 'style', 'href', 'a', 'svg', 'iframe', 'frame', 'object', 'embed', 'applet',
  'base', 'form', 'xmlns', 'xlink:href', 'x', 'alert(1)', 'div', 'b', 'body', 'meta', 'link', 'math', 'xml', 'import',
  'formaction', 'action', 'background', 'dynsrc', 'lowsrc', 'values', 'from', 'to', 'by', 'attributename', 'filter',
  'x:script', 'doctype', 'DOCTYPE', 'html', 'http://x', '//x', 'foo', 'bar', '1', 'abc', 'set', 'handler',
];

function fuzz(seed: number, pieces: string[], count: number): string[] {
  const rnd = mulberry32(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(rnd() * 14);
    let s = '';
    for (let j = 0; j < n; j++) s += pieces[Math.floor(rnd() * pieces.length)];
    out.push(s);
  }
  return out;
}

/** Tag-shaped strings: <name attr=value ...>, with the quoting, spacing and entity tricks XSS payloads use. */
function fuzzTags(seed: number, count: number): string[] {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const names = ['a', 'img', 'svg', 'SvG', 'script', 'x:script', 'iframe', 'div', 'b', 'xss', 'object', 'style', 'math', 'xsl:x', 'i\0frame', 'scr\0ipt', 'link', 'p', 'form', 'embed', 'base', 'frameset', 'isindex', 'listener', 'vmlframe', 'body'];
  const attrs = ['href', 'src', 'onerror', 'onload', 'onmouseover', 'ona', 'onab', 'on', 'style', 'x', 'title', 'xmlns', 'xmlns:x', 'xlink:href', 'XLINK:HREF', 'action', 'formaction', 'background', 'dynsrc', 'lowsrc', 'poster', 'values', 'from', 'to', 'by', 'attributename', 'filter', 'datasrc', 'dataformatas', 'folder', 'handler', 'class', 'id', 'o\0nerror', 'hr\0ef'];
  const values = ['javascript:alert(1)', ' JaVaScRiPt:x', '&#106;avascript:x', '&#x6A;avascript:x', '&#x6a&#x61;va:', '&#0000106ava:', '\tjava\nscript:', '\x01data:text/html,x', 'data:,x', 'vbscript:x', 'view-source:x', 'http://x', '//x', 'x', '', 'onerror', 'href', 'ONLOAD', '&#', '&#x', '&#x;', '&#99999999;', '&amp;java', 'ja\0va:', '\xffjava:', '\x80java:', 'foo bar', 'a>b', '"', "'"];
  const ws = [' ', '  ', '\t', '\n', '/', '\0', '\x0b', '\f', '\r', '\xff', '\xa0'];
  const quotes = ['"', "'", '`', ''];
  const unescape = (t: string): string => t.replace(/\\(0|t|n|f|r|x([0-9a-f]{2}))/g, (_m, c: string, h?: string) => (h ? String.fromCharCode(parseInt(h, 16)) : ({ 0: '\0', t: '\t', n: '\n', f: '\f', r: '\r' } as Record<string, string>)[c]!));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let t = rnd() < 0.2 ? pick(['x', '">', "'>", '`>', '', ' ', 'a=']) : '';
    t += '<' + (rnd() < 0.1 ? '/' : '') + pick(names);
    const n = Math.floor(rnd() * 3);
    for (let j = 0; j < n; j++) {
      const q = pick(quotes);
      t += pick(ws) + pick(attrs) + (rnd() < 0.85 ? pick(['=', ' = ', '=\0']) + q + pick(values) + (rnd() < 0.8 ? q : '') : '');
    }
    t += rnd() < 0.8 ? pick(['>', '/>', ' >', '']) : '';
    if (rnd() < 0.2) t += pick(['<!--', '-->', '<!DOCTYPE x>', '<![CDATA[x]]>', '<?import x>', '<!ENTITY x>', '<%x%>', '<!--[if x]>', '<!--`-->', '</x>', '<?xml x?>']);
    out.push(unescape(t));
  }
  return out;
}

/** Space-separated SQL fragments, closer to real injections than fuzz() glued pieces. */
function fuzzSql(seed: number, count: number): string[] {
  const rnd = mulberry32(seed);
  const lead = ["1", "1'", "1\"", "'", '"', 'x', "x')", '1)', "1'))", '-1', "admin'", '', '1 ', ' ', "'--", '$1', '@a'];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(rnd() * 8);
    const parts = [lead[Math.floor(rnd() * lead.length)]!];
    for (let j = 0; j < n; j++) parts.push(SQL_PIECES[Math.floor(rnd() * SQL_PIECES.length)]!);
    out.push(parts.join(rnd() < 0.7 ? ' ' : ''));
  }
  return out;
}

const latin1 = (utf8: string): string => Buffer.from(utf8, 'utf8').toString('latin1');

function corpusLines(): string[] {
  const lines: string[] = [];
  const dir = join(root, 'bench/corpora');
  for (const sub of readdirSync(dir, { withFileTypes: true })) {
    if (!sub.isDirectory()) continue;
    for (const f of readdirSync(join(dir, sub.name))) {
      if (!/\.(txt|fuzz)$/.test(f)) continue;
      for (const line of readFileSync(join(dir, sub.name, f), 'utf8').split('\n')) if (line.trim() !== '') lines.push(latin1(line));
    }
  }
  return lines;
}

function run(name: string, inputs: string[]): void {
  const unique = [...new Set(inputs)].filter((s) => s.length > 0 && !s.includes('\n') && !s.includes('\r'));
  const hex = unique.map((s) => Buffer.from(s, 'latin1').toString('hex')).join('\n') + '\n';
  const rows = execFileSync(oracle, { input: hex, encoding: 'latin1', maxBuffer: 256 << 20 }).trimEnd().split('\n');
  if (rows.length !== unique.length) throw new Error(`${name}: ${rows.length} answers for ${unique.length} inputs`);
  const lines = unique.map((s, i) => {
    const [sqli, fp, ...rest] = rows[i]!.split('\t');
    const xss = rest.pop();
    return JSON.stringify([s, sqli === '1', fp, rest, xss === '1']);
  });
  writeFileSync(join(outDir, `${name}.jsonl`), lines.join('\n') + '\n');
  console.log(`${name}: ${unique.length} inputs`);
}

mkdirSync(outDir, { recursive: true });
// Fuzz strings may hold newlines; those are kept out (one input per line) by run().
run('corpora', [...corpusLines(), ...blnsSections().flatMap((s) => s.strings.map(latin1))]);
run('fuzz-dev', [...fuzz(1, SQL_PIECES, 4000), ...fuzz(11, HTML_PIECES, 4000)]);
run('fuzz-heldout', [...fuzz(2, SQL_PIECES, 4000), ...fuzz(12, HTML_PIECES, 4000)]);
// Added after the first two sets passed: structured tags and spaced SQL, a second dev/held-out pair.
run('shaped-dev', [...fuzzSql(21, 3000), ...fuzzTags(31, 3000)]);
run('shaped-heldout', [...fuzzSql(22, 3000), ...fuzzTags(32, 3000)]);
