/**
 * OWASP CRS's regression tests for rules 942100 (@detectSQLi) and 941100
 * (@detectXSS), run against the detectors directly: each stage's request is
 * taken apart into the variables the rule reads (ARGS and ARGS_NAMES from the
 * query and a urlencoded body, XML text and attribute values, cookies, the
 * User-Agent header, and Referer for 942100), each value goes through the
 * rule's transformations, and the rule matches when the operator matches
 * any of them. expect_ids must match, no_expect_ids must not.
 *
 * The transformations (testdata/transforms.ts) are small versions of
 * ModSecurity's, enough for these payloads; the SecLang engine's own transformations and its
 * end-to-end runner over sockets are tested with the engine.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { detectSQLi, detectXSS } from './index.js';
import { hex, htmlEntityDecode, jsDecode, sqliChain, urlDecode, xssChain } from './testdata/transforms.js';

interface Stage {
  input: { method?: string; uri?: string; headers?: Record<string, string>; data?: string };
  output: { log?: { expect_ids?: number[]; no_expect_ids?: number[] } };
}
interface TestFile {
  rule_id: number;
  tests: { test_id: number; desc: string; stages: Stage[] }[];
}

const load = (name: string): TestFile => parse(readFileSync(new URL(`./testdata/crs/${name}`, import.meta.url), 'utf8')) as TestFile;

/** XML text and attribute values (XML:/* and XML://@*), entities decoded as an XML parser does. */
function xmlValues(body: string): string[] {
  const entity = (v: string): string =>
    v.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|quot|amp|lt|gt|apos);/g, (_m, e: string) =>
      e[0] === '#' ? String.fromCodePoint(e[1] === 'x' ? hex(e.slice(2)) : Number(e.slice(1))) : { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" }[e]!,
    );
  const values: string[] = [];
  for (const m of body.matchAll(/\s[\w:.-]+\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) values.push(entity(m[1] ?? m[2] ?? ''));
  for (const m of body.matchAll(/>([^<]+)</g)) values.push(entity(m[1]!));
  return values;
}

/** The values a rule reading ARGS, ARGS_NAMES, XML, cookies and the named headers sees for a stage. */
function stageValues(input: Stage['input'], headers: string[]): string[] {
  const values: string[] = [];
  const h = Object.fromEntries(Object.entries(input.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const args = (text: string): void => {
    for (const pair of text.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      values.push(urlDecode(eq < 0 ? pair : pair.slice(0, eq)));
      if (eq >= 0) values.push(urlDecode(pair.slice(eq + 1)));
    }
  };
  const uri = input.uri ?? '/';
  const q = uri.indexOf('?');
  if (q >= 0) args(uri.slice(q + 1));
  if (input.data !== undefined) {
    if (/xml/i.test(h['content-type'] ?? '')) values.push(...xmlValues(input.data));
    else args(input.data); // go-ftw sends a body without Content-Type as a form
  }
  for (const cookie of (h.cookie ?? '').split(';')) {
    const eq = cookie.indexOf('=');
    if (cookie.trim() !== '') values.push(cookie.slice(0, eq < 0 ? undefined : eq).trim(), eq < 0 ? '' : cookie.slice(eq + 1));
  }
  for (const name of headers) if (h[name] !== undefined) values.push(h[name]);
  return values;
}

const RULES = [
  {
    file: '942100.yaml',
    headers: ['user-agent', 'referer'],
    transform: sqliChain,
    operator: (v: string) => detectSQLi(v).detected,
  },
  {
    file: '941100.yaml',
    headers: ['user-agent'],
    transform: xssChain,
    operator: (v: string) => detectXSS(v),
  },
];

for (const rule of RULES) {
  const suite = load(rule.file);
  describe(`CRS ${suite.rule_id} regression tests`, () => {
    for (const test of suite.tests) {
      it(`${suite.rule_id}-${test.test_id}: ${test.desc}`, () => {
        for (const stage of test.stages) {
          const values = stageValues(stage.input, rule.headers).map((v) => rule.transform(v));
          const matched = values.filter((v) => rule.operator(v));
          if (stage.output.log?.expect_ids?.includes(suite.rule_id)) assert.ok(matched.length > 0, `no value matched: ${JSON.stringify(values)}`);
          if (stage.output.log?.no_expect_ids?.includes(suite.rule_id)) assert.deepEqual(matched, []);
        }
      });
    }
  });
}

describe('CRS stage decoding', () => {
  it('reads form bodies, queries and XML the way the rules see them', () => {
    assert.deepEqual(stageValues({ data: 'a=1+2&b=%27x%3a' }, []), ['a', '1 2', 'b', "'x:"]);
    assert.deepEqual(stageValues({ uri: '/p?q=%3Cb%3E', headers: { 'User-Agent': 'ua' } }, ['user-agent']), ['q', '<b>', 'ua']);
    assert.deepEqual(xmlValues('<r><a p="1 &amp; 2">t&lt;</a></r>'), ['1 & 2', 't<']);
    assert.equal(jsDecode('\\x3c\\u0041\\101\\n'), '<AA\n');
    assert.equal(htmlEntityDecode('&#x7B;&#60&quot;'), '{<"');
  });
});
