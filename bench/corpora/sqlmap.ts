/**
 * SQL injection payloads as sqlmap sends them, generated from sqlmap's own
 * test and boundary definitions (Debian package `sqlmap`, GPL-2.0: read from
 * the installed files, not copied here). Each test payload is wrapped in each
 * boundary (prefix/suffix for numeric, quoted and parenthesised contexts) up
 * to --level 3 / --risk 2, with sqlmap's placeholders filled in.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const DEFAULT_DIR = '/usr/share/sqlmap/data/xml';

interface Boundary {
  level: number;
  clause: number[];
  where: number[];
  prefix: string;
  suffix: string;
}

interface Test {
  title: string;
  level: number;
  risk: number;
  clause: number[];
  where: number[];
  payload: string;
  comment: string;
}

function tag(block: string, name: string): string {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(block);
  return m ? decodeXml(m[1]!.trim()) : '';
}

function decodeXml(text: string): string {
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&apos;', "'").replaceAll('&amp;', '&');
}

function numbers(text: string): number[] {
  return text.split(',').map((n) => Number(n.trim())).filter((n) => !Number.isNaN(n));
}

function blocks(xml: string, name: string): string[] {
  // skip the commented documentation block at the top of each file
  const body = xml.replace(/<!--[\s\S]*?-->/g, '');
  return body.split(`<${name}>`).slice(1).map((b) => b.split(`</${name}>`)[0]!);
}

let seed = 7;
function random(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
const randNum = () => String(1000 + Math.floor(random() * 9000));
const randStr = () => Array.from({ length: 4 }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join('');

function fill(text: string): string {
  return text
    .replaceAll('[RANDNUM]', () => randNum())
    .replaceAll('[RANDSTR]', () => randStr())
    .replaceAll('[DELIMITER_START]', 'qkvqq')
    .replaceAll('[DELIMITER_STOP]', 'qpzjq')
    .replaceAll('[SLEEPTIME]', '5')
    .replaceAll('[DELAYED]', '5')
    .replaceAll('[INFERENCE]', () => `${randNum()}=${randNum()}`)
    .replaceAll('[ORIGVALUE]', '1')
    .replaceAll('[ORIGINAL]', '1')
    .replaceAll('[GENERIC_SQL_COMMENT]', '-- -')
    .replaceAll('[QUERY]', '(SELECT (CASE WHEN (1=1) THEN 1 ELSE 0 END))')
    .replaceAll('[CHAR]', 'NULL')
    .replaceAll('[COLSTART]', '')
    .replaceAll('[COLSTOP]', '')
    .replaceAll('[AT_REPLACE]', '@')
    .replaceAll('[DOLLAR_REPLACE]', '$')
    .replaceAll('[HASH_REPLACE]', '#')
    .replaceAll('[SPACE_REPLACE]', ' ')
    .replaceAll('[UNION]', 'UNION ALL SELECT NULL,NULL,CONCAT(0x716b767171,0x4a6b4c,0x71707a6a71)');
}

export function sqlmapDataDir(): string | undefined {
  const dir = process.env.SQLMAP_DATA ?? DEFAULT_DIR;
  return existsSync(join(dir, 'boundaries.xml')) ? dir : undefined;
}

/** Parameter values sqlmap would send, for an original value of 1. */
export function sqlmapPayloads(dir: string, maxLevel = 3, maxRisk = 2): string[] {
  const boundaries: Boundary[] = blocks(readFileSync(join(dir, 'boundaries.xml'), 'utf8'), 'boundary').map((b) => ({
    level: Number(tag(b, 'level')),
    clause: numbers(tag(b, 'clause')),
    where: numbers(tag(b, 'where')),
    prefix: tag(b, 'prefix'),
    suffix: tag(b, 'suffix'),
  }));
  const tests: Test[] = [];
  for (const file of ['boolean_blind', 'error_based', 'inline_query', 'stacked_queries', 'time_blind', 'union_query']) {
    for (const b of blocks(readFileSync(join(dir, 'payloads', `${file}.xml`), 'utf8'), 'test')) {
      const request = tag(b, 'request');
      tests.push({
        title: tag(b, 'title'),
        level: Number(tag(b, 'level')),
        risk: Number(tag(b, 'risk')),
        clause: numbers(tag(b, 'clause')),
        where: numbers(tag(b, 'where')),
        payload: tag(request, 'payload'),
        comment: tag(request, 'comment'),
      });
    }
  }
  const out = new Set<string>();
  for (const test of tests) {
    if (test.level > maxLevel || test.risk > maxRisk || !test.payload) continue;
    for (const boundary of boundaries) {
      if (boundary.level > maxLevel) continue;
      const clauseOk = test.clause.includes(0) || boundary.clause.includes(0) || test.clause.some((c) => boundary.clause.includes(c));
      const where = test.where.find((w) => boundary.where.includes(w));
      if (!clauseOk || where === undefined) continue;
      const original = where === 1 ? '1' : where === 2 ? `-${randNum()}` : '';
      const payload = fill(test.payload);
      let value = original + fill(boundary.prefix);
      if (!payload.startsWith(';') && !/[()]$/.test(value)) value += ' ';
      value += payload;
      if (test.comment) value += ' ' + fill(test.comment);
      else if (boundary.suffix) value += ' ' + fill(boundary.suffix);
      out.add(value.trim());
    }
  }
  return [...out];
}
