/**
 * Parser differentials for request-validation: generated query strings,
 * forms, cookies and JSON bodies go through the readers request-validation
 * checks its rules against (src/lib/query.ts pairReadings / cookieValues,
 * src/lib/json-text.ts parseJsonBody) and through the parsers upstreams run
 * — Werkzeug 2.2 and 3 (one long-lived Python process each), qs, body-parser
 * — and every value such a parser hands the application under a name must be
 * one of the values request-validation checked under that name (or, for
 * JSON, the same document, or a refusal). Otherwise a rule forbidding "'" is
 * passed by a value whose upstream reading holds one (q=%27%zz).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import qs from 'qs';
import bodyParser from 'body-parser';
import { cookieValues, pairReadings, pathSegmentReadings, type Pairs } from '../../src/lib/query.js';
import { parseJsonBody } from '../../src/lib/json-text.js';
import { Werkzeug, werkzeugPythons } from '../helpers/werkzeug-parser.js';

/** Cases per property; FUZZ_RUNS=5000 for a longer hunt. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 250);

/** Does some reading hold `value` under `name`? */
function checked(readings: readonly Pairs[], name: string, value: string): boolean {
  return readings.some((r) => r.get(name)?.includes(value) === true);
}

function assertChecked(readings: readonly Pairs[], what: string, pairs: Iterable<[string, string]>, input: unknown): void {
  for (const [name, value] of pairs) {
    assert.ok(
      checked(readings, name, value),
      `${what} reads ${JSON.stringify(name)} = ${JSON.stringify(value)} from ${JSON.stringify(input)}; request-validation checked ${JSON.stringify(readings.map((r) => [...r]))}`,
    );
  }
}

/** Every leaf string of a qs / body-parser result: their names are nested, so only the values are compared. */
function leaves(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) leaves(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) leaves(v, out);
  return out;
}

function assertValues(readings: readonly Pairs[], what: string, values: Iterable<string>, input: unknown): void {
  for (const value of values) {
    assert.ok(readings.some((r) => [...r.values()].some((list) => list.includes(value))), `${what} reads the value ${JSON.stringify(value)} from ${JSON.stringify(input)} that request-validation never checked`);
  }
}

/**
 * qs files a[]=, a[0]= and a[b]= under req.query.a: a rule on "a" must have
 * checked every string under it (for names a rule can have: identifiers).
 */
function assertTopLevel(readings: readonly Pairs[], what: string, parsed: unknown, input: unknown): void {
  if (parsed === null || typeof parsed !== 'object') return;
  for (const [key, value] of Object.entries(parsed)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue;
    for (const leaf of leaves(value)) {
      assert.ok(checked(readings, key, leaf), `${what} files ${JSON.stringify(leaf)} under ${JSON.stringify(key)} from ${JSON.stringify(input)}; request-validation checked ${JSON.stringify(readings.map((r) => [...r]))}`);
    }
  }
}

type Middleware = (req: unknown, res: unknown, next: (err?: unknown) => void) => void;

function bodyParserRead(middleware: Middleware, contentType: string, body: Buffer): Promise<unknown> {
  const req = Object.assign(Readable.from([body]), {
    headers: { 'content-type': contentType, 'content-length': String(body.length) },
    method: 'POST',
    url: '/',
  });
  return new Promise((resolve) => middleware(req, {}, (err) => resolve(err ? undefined : (req as unknown as { body: unknown }).body)));
}

const extended = bodyParser.urlencoded({ extended: true, limit: '1mb' }) as unknown as Middleware;
const simple = bodyParser.urlencoded({ extended: false, limit: '1mb' }) as unknown as Middleware;

// ---------------------------------------------------------------------------
// generators: the escapes and splits the parsers disagree on

const name = fc.constantFrom('q', 'a', 'a[]', 'a[b]', 'q[0]', 'q[', 'q[[x]]', '[q]', 'q%5B%5D', 'q%5D', 'q]', '%71', 'q%zz', 'q%FF', 'é', '', 'a+b', 'a%2Bb', '%E9');
const value = fc.oneof(
  fc.constantFrom("'", '%27', '%27%zz', '%zz%27', '%', '%2', '%%27', '%u0027', '%E9%27', '%FF', '%C3%A9', '%F0%9F%27', '+', '%2B', 'é', ']=%27', '=%27', '%3Cscript%3E', 'x', ''),
  fc.string({ maxLength: 4 }),
);
const pair = fc.tuple(name, fc.constantFrom('=', '=', '', '=='), fc.array(value, { minLength: 1, maxLength: 3 })).map(([n, eq, vs]) => (eq === '' ? n : `${n}${eq}${vs.join('')}`));
const pairs = fc.tuple(fc.array(pair, { minLength: 1, maxLength: 4 }), fc.constantFrom('&', '&', ';', '&&')).map(([ps, sep]) => ps.join(sep));

const cookieName = fc.constantFrom('q', 'a', ' q', 'q ', 'é', '$q');
const cookieValue = fc.constantFrom('x', "'", '%27', '%27%zz', '"x"', '"x; q=y"', "\"x; q='\"", '"\\047"', '"a\\"b"', '"', '"x', ' x ', 'a=b', 'é', '%E9', '%C3%A9');
const cookie = fc.tuple(fc.array(fc.tuple(cookieName, fc.constantFrom('=', ' = ', ''), cookieValue), { minLength: 1, maxLength: 4 }), fc.constantFrom('; ', ';', ';;'))
  .map(([ps, sep]) => ps.map(([n, eq, v]) => (eq === '' ? n : n + eq + v)).join(sep));

const jsonDocument = fc.oneof(fc.json({ maxDepth: 3 }), fc.constantFrom('{"q": NaN}', '{"q":"x","q":"\'"}', '["\\u0027"]', '{"q":"\\ud800"}'));
const jsonBody = fc.tuple(fc.constantFrom('', '\ufeff', ' \n', '\u00a0'), jsonDocument, fc.constantFrom('utf8', 'utf16le', 'utf16le-bom', 'utf16be')).map(([prefix, doc, encoding]) => {
  const text = prefix + doc;
  if (encoding === 'utf8') return Buffer.from(text, 'utf8');
  const le = Buffer.from(text, 'utf16le');
  if (encoding === 'utf16le') return le;
  if (encoding === 'utf16le-bom') return Buffer.concat([Buffer.from([0xff, 0xfe]), le]);
  return Buffer.from(le).swap16();
});

/** Every string and key of a JSON value, sorted: the comparison of two readings. */
function flatten(value: unknown): string[] {
  const out: string[] = [];
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') out.push(`s:${v}`);
    else if (Array.isArray(v)) stack.push(...(v as unknown[]));
    else if (v !== null && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) {
        out.push(`k:${k}`);
        stack.push(item);
      }
    }
  }
  return out.sort();
}

for (const python of werkzeugPythons()) describe(`request-validation parser differentials (Werkzeug from ${python}): every value an upstream reads is a value the rules checked`, () => {
  let werkzeug: Werkzeug;
  before(() => {
    werkzeug = new Werkzeug(python);
  });
  after(async () => {
    await werkzeug.close();
  });

  it('query strings, against Werkzeug args and qs', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, async (text) => {
        // the request target as Node and a WSGI server hand it over: each byte one character
        const query = Buffer.from(text, 'utf8').toString('latin1');
        const readings = pairReadings(query, 'latin1')!;
        const w = await werkzeug.read({ query });
        assertChecked(readings, 'Werkzeug', w.args, query);
        const parsed = qs.parse(query);
        assertValues(readings, 'qs', leaves(parsed), query);
        assertTopLevel(readings, 'qs', parsed, query);
      }),
      { numRuns: RUNS },
    );
  });

  it('URL-encoded forms, against Werkzeug form and body-parser', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, async (text) => {
        const body = Buffer.from(text, 'utf8');
        const readings = pairReadings(body.toString('latin1'), 'utf8')!;
        const w = await werkzeug.read({ contentType: 'application/x-www-form-urlencoded', body });
        assertChecked(readings, 'Werkzeug', w.form, text);
        for (const [what, middleware] of [['body-parser extended', extended], ['body-parser', simple]] as const) {
          const parsed = await bodyParserRead(middleware, 'application/x-www-form-urlencoded', body);
          assertValues(readings, what, leaves(parsed), text);
          assertTopLevel(readings, what, parsed, text);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('path segments (OpenAPI path parameters), against Werkzeug behind wsgiref', async () => {
    // the gateway refuses malformed escapes, encoded slashes and NUL in paths before any policy runs
    const piece = fc.constantFrom('%27', '%F0%9F', '%F0%9F%98%80', '%E9', '%C3%A9', '%FF', '+', '%2B', '%20', 'a', '%25', '%3B', '~', '%7E');
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { minLength: 1, maxLength: 5 }), async (pieces) => {
        const segment = pieces.join('');
        const w = await werkzeug.read({ path: `/p/${segment}` });
        const readings = pathSegmentReadings(segment);
        assert.ok(readings.includes(w.path.slice(3)), `Werkzeug reads the segment ${JSON.stringify(segment)} as ${JSON.stringify(w.path.slice(3))}; request-validation checked ${JSON.stringify(readings)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('cookies, against Werkzeug', async () => {
    await fc.assert(
      fc.asyncProperty(cookie, async (text) => {
        const header = Buffer.from(text, 'utf8').toString('latin1');
        const values = cookieValues(header);
        const w = await werkzeug.read({ cookie: header });
        assertChecked([values], 'Werkzeug', w.cookies.filter(([n]) => n !== ''), header);
      }),
      { numRuns: RUNS },
    );
  });

  it('JSON bodies (BOM, UTF-16, NaN, repeated keys), against get_json(force=True)', async () => {
    await fc.assert(
      fc.asyncProperty(jsonBody, async (body) => {
        const ours = parseJsonBody(body);
        if (ours === undefined) return; // refused: nothing reaches the upstream
        const w = await werkzeug.read({ contentType: 'application/json', body });
        const input = body.toString('latin1');
        // Werkzeug hands over null both for "null" and for a body it cannot read
        if (w.json === null) {
          assert.equal(ours.value, null, `request-validation reads JSON from ${JSON.stringify(input)} that Werkzeug does not`);
          return;
        }
        const theirs = [...w.json.strings.map((s) => `s:${s}`), ...w.json.keys.map((k) => `k:${k}`)].sort();
        assert.deepEqual(flatten(ours.value), theirs, `request-validation and Werkzeug read ${JSON.stringify(input)} differently`);
      }),
      { numRuns: RUNS },
    );
  });
});
