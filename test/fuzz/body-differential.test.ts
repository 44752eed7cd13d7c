/**
 * Parser differentials: generated multipart bodies, forms, query strings,
 * cookies and JSON-looking bodies go through the waf's readers and through
 * the parsers upstreams run — Werkzeug (Flask; one long-lived Python
 * process), busboy, qs and body-parser — and for every input the waf must
 * either refuse it (protocol.body-parse) or see every value and name the
 * reference parser sees. The generators favour the nasty cases: repeated
 * parameters, quoting, case, whitespace, ";" against "&", "+", broken
 * percent-escapes, repeated keys, a[]= and a[b]=, quoted cookies.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import busboy from 'busboy';
import qs from 'qs';
import bodyParser from 'body-parser';
import { bodyPlan, visitBody, visitPairs, visitPlanned, visitText, type BodyKind, type BodyLimits, type BodyOutcome } from '../../src/policies/waf/body.js';
import { cookieReadings } from '../../src/lib/query.js';
import { Werkzeug, werkzeugPythons } from '../helpers/werkzeug-parser.js';

const LIMITS: BodyLimits = { maxDepth: 64, maxValues: 100_000 };
/** Cases per property; FUZZ_RUNS=5000 for a longer hunt. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 250);

interface Seen {
  outcome: BodyOutcome;
  values: Set<string>;
  keys: Set<string>;
}

function collect(run: (visitor: { value(name: string, value: string): boolean; key(name: string, path: string): boolean }) => BodyOutcome): Seen {
  const values = new Set<string>();
  const keys = new Set<string>();
  const outcome = run({
    value: (_name, value) => (values.add(value), false),
    key: (name) => (keys.add(name), false),
  });
  return { outcome, values, keys };
}

const refused = (seen: Seen): boolean => seen.outcome === 'malformed' || seen.outcome === 'too-complex';

function assertSees(seen: Seen, what: string, values: Iterable<string>, keys: Iterable<string>, input: unknown): void {
  if (refused(seen)) return;
  for (const value of values) {
    assert.ok(value === '' || seen.values.has(value), `${what} reads the value ${JSON.stringify(value)} the waf never saw in ${JSON.stringify(input)}; the waf saw ${JSON.stringify([...seen.values])}`);
  }
  for (const key of keys) {
    // Werkzeug names a part whose Content-Disposition it cannot read None: there is no name to see
    assert.ok(key === '' || key == null || seen.keys.has(key), `${what} reads the name ${JSON.stringify(key)} the waf never saw in ${JSON.stringify(input)}; the waf saw ${JSON.stringify([...seen.keys])}`);
  }
}

/** Every leaf string of a qs / body-parser result, and every key on the way. */
function leaves(value: unknown, strings: string[] = [], keys: string[] = []): { strings: string[]; keys: string[] } {
  if (typeof value === 'string') strings.push(value);
  else if (Array.isArray(value)) for (const v of value) leaves(v, strings, keys);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      keys.push(k);
      leaves(v, strings, keys);
    }
  }
  return { strings, keys };
}

/** A reference parser that never answers is a finding too: fail with the input instead of hanging the suite. */
function answered<T>(promise: Promise<T>, what: string, input: unknown): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} never answered for ${JSON.stringify(input)}`)), 30_000);
  });
  return Promise.race([promise, hung]).finally(() => clearTimeout(timer));
}

function busboyRead(contentType: string, body: Buffer): Promise<{ fields: Array<[string, string]>; files: Array<[string, string]> } | undefined> {
  return new Promise((resolve) => {
    const fields: Array<[string, string]> = [];
    const files: Array<[string, string]> = [];
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { 'content-type': contentType } });
    } catch {
      resolve(undefined);
      return;
    }
    parser.on('field', (name, value) => fields.push([name, value]));
    parser.on('file', (name, stream, info) => {
      files.push([name, info.filename ?? '']);
      stream.on('error', () => {});
      stream.resume();
    });
    // fields emitted before an error were handed to the application already
    parser.on('close', () => resolve({ fields, files }));
    parser.on('error', () => resolve({ fields, files }));
    parser.end(body);
    // busboy parses what it is written at once; after a close delimiter followed by another part it may never
    // emit 'close' (nor an error: an application's request would hang), so what it emitted by now is its reading
    setImmediate(() => resolve({ fields, files }));
  });
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
const json = bodyParser.json({ limit: '1mb' }) as unknown as Middleware;

// ---------------------------------------------------------------------------
// generators

const payload = fc.constantFrom("' UNION SELECT 1--", '<script>x</script>', 'a"b', 'a;b', 'a\\"b', 'x\r\n--B', '--B--', 'é', '＜', '+ADw-', '%27', '', '\r\n', 'a\nb');
const word = fc.constantFrom('a', 'q', 'B', 'x y', 'filename', 'name', 'é');
const text = fc.oneof(payload, word, fc.string({ maxLength: 6 }));

/** Mostly `usual`, sometimes one of the nasty ones: enough well-formed bodies get read for the comparison to bite. */
function mostly<T>(usual: T, ...nasty: T[]): fc.Arbitrary<T> {
  return fc.oneof({ weight: 15 * nasty.length, arbitrary: fc.constant(usual) }, { weight: nasty.length, arbitrary: fc.constantFrom(...nasty) });
}

const boundaryParam = mostly(
  '; boundary=B',
  '; boundary="B"', '; BOUNDARY=B', '; boundary=foo', '; boundary=bar', '; xboundary=foo', ';boundary=B', ' ; boundary = B',
  '; boundary=B;', '; boundary*=utf-8\'\'B', '; boundary*0=B', ', boundary=B', '; boundary="B" ', '; boundary="B\\"x"', '; boundary=B x',
  '; charset=utf-8', '; name=x', '; boundary=',
);
const contentType = fc
  .tuple(mostly('multipart/form-data', 'Multipart/Form-Data', ' multipart/form-data', 'multipart/form-data '), boundaryParam, fc.array(boundaryParam, { maxLength: 1 }))
  .map(([t, first, more]) => t + first + more.join(''));

const dispositionParam = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('name="q"', 'name=q', 'name="a"') },
  { weight: 3, arbitrary: text.map((t) => `name="${t}"`) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('NAME="q"', 'name="a b"', 'name=""', 'filename=f', 'filename=""', 'filename', 'name*=utf-8\'\'q', 'filename*=utf-8\'\'f%C3%A9', 'name="a\\"b"', 'name="a\\\\b"', 'filename="\\\\x\\y"', 'name="q";', 'name="é"'),
  },
);
const disposition = fc
  .tuple(mostly('Content-Disposition', 'content-disposition', 'Content-Disposition ', 'Content-disposition'), mostly(': form-data', ':form-data', ': attachment', ': '), dispositionParam, fc.option(fc.oneof({ weight: 4, arbitrary: fc.constant('filename="f.txt"') }, { weight: 1, arbitrary: dispositionParam }), { nil: undefined, freq: 3 }), mostly('; ', ';', ' ; '))
  .map(([h, t, first, second, sep]) => `${h}${t}${sep}${first}${second === undefined ? '' : sep + second}`);
const extraHeader = fc.constantFrom('Content-Type: text/plain', 'Content-Type: text/plain; charset=utf-7', 'Content-Type: text/plain; charset=latin1', 'Content-Type: text/plain; charset=utf-16', 'Content-Type: application/octet-stream', ' folded', 'X: y');
const partHeaders = fc.oneof(
  { weight: 6, arbitrary: disposition.map((d) => [d]) },
  { weight: 3, arbitrary: fc.tuple(disposition, extraHeader).map(([d, x]) => [d, x]) },
  { weight: 2, arbitrary: fc.array(fc.oneof(disposition, extraHeader), { maxLength: 3 }) },
);
const lineBreak = mostly('\r\n', '\n', '\r');
const delimiterName = mostly('B', 'foo', 'bar');
const part = fc.tuple(delimiterName, mostly('', ' ', '--'), lineBreak, partHeaders, lineBreak, lineBreak, text, lineBreak)
  .map(([b, pad, lb1, headers, lb2, lb3, value, lb4]) => `--${b}${pad}${lb1}${headers.join(lb2)}${lb2}${lb3}${value}${lb4}`);
const multipartBody = fc.tuple(mostly('', 'preamble\r\n', 'x'), fc.array(part, { minLength: 1, maxLength: 2 }), mostly('--B--', '--B--\r\n', '--foo--', '--bar--\r\n', '', '--B--\r\n--B\r\n'))
  .map(([pre, parts, close]) => Buffer.from(pre + parts.join('') + close, 'utf8'));

const formName = fc.constantFrom('a', 'a[]', 'a[b]', 'a[b][c]', 'a[=]', 'a[0]', '%61', 'a%5Bb%5D', 'a.b', '', 'q', 'a b', 'a+b', '__proto__', 'a]', '[a]', 'é');
const formValue = fc.oneof(
  fc.constantFrom('x', '%27', '%zz', '%', '%2', '+', '%2B', '%E9', '%C3%A9', 'é', '%u0027', 'a=b', "' OR 1=1", '%3Cscript%3E', '%00', '%F0%9F', '', ']=y'),
  fc.string({ maxLength: 5 }),
);
const pair = fc.tuple(formName, fc.constantFrom('=', '=', '', '=='), formValue).map(([n, eq, v]) => (eq === '' ? n : `${n}${eq}${v}`));
const pairs = fc.tuple(fc.array(pair, { minLength: 1, maxLength: 5 }), fc.constantFrom('&', '&', ';', '&&', '&;')).map(([ps, sep]) => ps.join(sep));

const cookieName = fc.constantFrom('a', 'q', 'session', ' b', '', 'a b', '$Version', 'é');
const cookieValue = fc.constantFrom('x', '"x"', '"x; y"', '"x;y" ', '"\\074script\\076"', '"a\\"b"', '"', '"x', 'x"', ' x ', 'a=b', '%27', '%zz', '', '"\\\\"', "' OR 1=1", 'é');
const cookie = fc.tuple(fc.array(fc.tuple(cookieName, fc.constantFrom('=', '=', '', ' = '), cookieValue), { minLength: 1, maxLength: 4 }), fc.constantFrom('; ', ';', ' ;', ';;'))
  .map(([ps, sep]) => ps.map(([n, eq, v]) => (eq === '' ? n + v : n + eq + v)).join(sep));

const jsonDocument = fc.oneof(fc.json({ maxDepth: 3 }), fc.constantFrom('{"a": NaN, "q": "x"}', '[Infinity, "y"]', '{"a":1,"a":"dup"}', '["\\ud800"]'));
const jsonBody = fc.tuple(fc.constantFrom('', ' '.repeat(70), '\n\t ', '\ufeff', '\ufeff  ', ' \ufeff', '\f', '\u00a0'), jsonDocument, fc.constantFrom('utf8', 'utf8', 'utf16le', 'utf16le-bom', 'utf16be')).map(([prefix, doc, encoding]) => {
  const textBody = prefix + doc;
  if (encoding === 'utf8') return Buffer.from(textBody, 'utf8');
  const le = Buffer.from(textBody, 'utf16le');
  if (encoding === 'utf16le') return le;
  if (encoding === 'utf16le-bom') return Buffer.concat([Buffer.from([0xff, 0xfe]), le]);
  return Buffer.from(le).swap16();
});

const anyType = fc.oneof(
  fc.tuple(
    fc.constantFrom('application/x-www-form-urlencoded', 'application/x-url-encoded', 'Application/X-WWW-Form-URLencoded', 'application/json', 'text/plain', 'application/octet-stream', 'multipart/form-data'),
    fc.constantFrom('', ';', '; charset=utf-8', ' ; charset=UTF-8', ', text/plain', '\u00a0x', ' x', '\u0085', '; boundary=B', ';charset=iso-8859-1'),
    fc.constantFrom('', ' ', '\u00a0', '\t'),
  ).map(([t, rest, lead]) => lead + t + rest),
  fc.constant(undefined),
);
const anyBody = fc.oneof(pairs.map((p) => Buffer.from(p, 'utf8')), jsonBody, multipartBody);
const DEFAULT_KINDS: ReadonlySet<BodyKind> = new Set(['json', 'form', 'multipart']);

// ---------------------------------------------------------------------------

for (const python of werkzeugPythons()) describe(`parser differentials (Werkzeug from ${python}): the waf refuses or reads every value the upstream parser reads`, () => {
  let werkzeug: Werkzeug;
  before(() => {
    werkzeug = new Werkzeug(python);
  });
  after(async () => {
    await werkzeug.close();
  });

  it('multipart bodies, against Werkzeug and busboy', async () => {
    let read = 0;
    await fc.assert(
      fc.asyncProperty(contentType, multipartBody, async (type, body) => {
        const seen = collect((v) => visitBody('multipart', body, type, LIMITS, v));
        if (!refused(seen) && seen.values.size > 0) read++;
        const input = { type, body: body.toString('latin1') };
        const w = await answered(werkzeug.read({ contentType: type, body }), 'Werkzeug', input);
        assertSees(seen, 'Werkzeug', [...w.form.map(([, v]) => v), ...w.files.map(([, f]) => f)], [...w.form, ...w.files].map(([n]) => n), input);
        const b = await answered(busboyRead(type, body), 'busboy', input);
        if (b) assertSees(seen, 'busboy', [...b.fields.map(([, v]) => v), ...b.files.map(([, f]) => f)], [...b.fields, ...b.files].map(([n]) => n), input);
      }),
      { numRuns: RUNS * 2 },
    );
    // not a vacuous pass: many generated bodies are well-formed and read, not refused
    assert.ok(read >= RUNS / 10, `only ${read} of ${RUNS * 2} generated bodies were read`);
  });

  it('URL-encoded forms, against Werkzeug, qs and body-parser', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, async (form) => {
        const body = Buffer.from(form, 'utf8');
        const seen = collect((v) => visitBody('form', body, 'application/x-www-form-urlencoded', LIMITS, v));
        const w = await answered(werkzeug.read({ contentType: 'application/x-www-form-urlencoded', body }), 'Werkzeug', form);
        assertSees(seen, 'Werkzeug', w.form.map(([, v]) => v), w.form.map(([n]) => n), form);
        assertSees(seen, 'qs', leaves(qs.parse(form)).strings, [], form);
        for (const [what, middleware] of [['body-parser extended', extended], ['body-parser', simple]] as const) {
          const parsed = await answered(bodyParserRead(middleware, 'application/x-www-form-urlencoded', body), what, form);
          assertSees(seen, what, leaves(parsed).strings, [], form);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('query strings, against Werkzeug and qs', async () => {
    await fc.assert(
      fc.asyncProperty(pairs, async (text) => {
        // the request target as Node and a WSGI server hand it over: each byte one character
        const query = Buffer.from(text, 'utf8').toString('latin1');
        const seen = collect((v) => visitPairs(query, LIMITS, v));
        const w = await answered(werkzeug.read({ query }), 'Werkzeug', query);
        assertSees(seen, 'Werkzeug', w.args.map(([, v]) => v), w.args.map(([n]) => n), query);
        assertSees(seen, 'qs', leaves(qs.parse(query)).strings, [], query);
      }),
      { numRuns: RUNS },
    );
  });

  it('cookies, against Werkzeug', async () => {
    await fc.assert(
      fc.asyncProperty(cookie, async (text) => {
        const header = Buffer.from(text, 'utf8').toString('latin1');
        const readings = cookieReadings(header);
        const seen: Seen = { outcome: 'ok', values: new Set(readings.map(([, v]) => v)), keys: new Set(readings.map(([n]) => n)) };
        const w = await answered(werkzeug.read({ cookie: header }), 'Werkzeug', header);
        assertSees(seen, 'Werkzeug', w.cookies.map(([, v]) => v), w.cookies.map(([n]) => n), header);
      }),
      { numRuns: RUNS },
    );
  });

  it('the body kind chosen from the Content-Type, against Werkzeug\'s form, files and get_json(force=True)', async () => {
    await fc.assert(
      fc.asyncProperty(anyType, anyBody, async (type, body) => {
        // the default settings: json, form and multipart, other types inspected
        const plan = bodyPlan(type, DEFAULT_KINDS, 'text');
        const input = { type, body: body.toString('latin1') };
        const seen: Seen = plan === undefined || plan === 'refuse' ? { outcome: 'malformed', values: new Set(), keys: new Set() } : collect((v) => visitPlanned(plan, body, type ?? '', LIMITS, v));
        assert.notEqual(plan, undefined, `the waf does not read a body of type ${JSON.stringify(type)}`);
        const w = await answered(werkzeug.read({ contentType: type, body }), 'Werkzeug', input);
        assertSees(seen, 'Werkzeug', [...w.form.map(([, v]) => v), ...w.files.map(([, f]) => f), ...(w.json?.strings ?? [])], [...w.form.map(([n]) => n), ...(w.json?.keys ?? [])], input);
      }),
      { numRuns: RUNS },
    );
  });

  it('JSON under other types or none, against get_json(force=True) and body-parser', async () => {
    await fc.assert(
      fc.asyncProperty(jsonBody, fc.constantFrom('text/plain', 'application/octet-stream', 'application/x-json', undefined, 'application/json'), async (body, type) => {
        const seen =
          type === 'application/json'
            ? collect((v) => visitBody('json', body, type, LIMITS, v))
            : collect((v) => visitText(body, LIMITS, v, type === 'text/plain' ? 'sniff' : 'other'));
        const input = { type, body: body.toString('latin1') };
        const w = await answered(werkzeug.read({ contentType: type, body }), 'Werkzeug', input);
        if (w.json) assertSees(seen, 'get_json(force=True)', w.json.strings, w.json.keys, input);
        if (type === 'application/json') {
          const parsed = leaves(await answered(bodyParserRead(json, type, body), 'body-parser json', input));
          assertSees(seen, 'body-parser json', parsed.strings, parsed.keys, input);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
