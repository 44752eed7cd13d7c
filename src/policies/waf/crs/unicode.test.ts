/**
 * How CRS reads text in scripts ModSecurity's best-fit table has no ASCII
 * for, as a user meets it over a real gateway: by default an unmapped
 * character reads as a letter (an Arabic name is a name), with
 * `unmapped_unicode: low-byte` as ModSecurity and Coraza read it (U+0627,
 * Arabic alef, is an apostrophe there, and 942100 sees SQL). Full-width
 * ASCII stays an evasion either way.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../../test/helpers/upstream.js';
import type { TelemetryEvent } from '../../../telemetry/event.js';

/**
 * Values of the generated API traffic (bench/corpora/generated.ts) that CRS
 * 942100 refused through the low byte: the city "صلاح الدين" reads
 * `5D'- 'D/JF` that way, the name "Тамара" `"0<0@0`.
 */
const SIGNUP = { first_name: 'Тамара', last_name: 'Иванова', address: { city: 'صلاح الدين' } };

describe('waf crs: characters the best-fit table lacks (unmapped_unicode)', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  const events: TelemetryEvent[] = [];
  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: letter
    service: s
    public: true
    match: { paths: [/letter] }
    policies:
      - waf: { engine: crs }
  - name: low-byte
    service: s
    public: true
    match: { paths: [/low-byte] }
    policies:
      - waf: { engine: crs, unmapped_unicode: low-byte }
`);
    gw.gateway.telemetry.events.subscribe((e) => events.push(e));
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  const post = (path: string, doc: unknown) => send(gw.url, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });

  it('lets a Russian and Arabic sign-up through by default, and reaches the upstream with it unchanged', async () => {
    const before = upstream.seen.length;
    const r = await post('/letter/users', SIGNUP);
    assert.equal(r.status, 200);
    assert.equal(upstream.seen.length, before + 1);
    assert.deepEqual(JSON.parse(upstream.seen.at(-1)!.body), SIGNUP);
  });

  it('with unmapped_unicode: low-byte refuses it as ModSecurity does, 942100 reading the low bytes as SQL', async () => {
    events.length = 0;
    const r = await post('/low-byte/users', SIGNUP);
    assert.equal(r.status, 403);
    await new Promise((res) => setTimeout(res, 20));
    const rules = events.filter((e) => e.type === 'waf.rule').map((e) => String(e.details?.rule));
    assert.ok(rules.includes('942100'), rules.join(','));
  });

  it('still refuses SQL written in full-width ASCII (its reading is ASCII either way) and SQL beside Arabic text', async () => {
    const fullWidth = '\uff07 or 1=1--';
    for (const path of ['/letter/search', '/low-byte/search']) {
      assert.equal((await send(gw.url, `${path}?q=${encodeURIComponent(fullWidth)}`)).status, 403, path);
      assert.equal((await post(path, { name: "صلاح' or 1=1--" })).status, 403, path);
    }
  });

  it('refuses XSS and path traversal written in compatibility forms an NFKC-normalizing upstream folds to ASCII, in query, JSON and headers', async () => {
    // Python's unicodedata.normalize('NFKC') makes this <script>alert(1)</script>; the low byte read "dscripte", which no rule matched
    const xss = '\ufe64script\ufe65alert\ufe591\ufe5a\ufe64/script\ufe65';
    const traversal = '\u2024\u2024\u2215\u2024\u2024\u2215\u2024\u2024\u2215etc\u2215passwd';
    for (const v of [xss, traversal]) {
      assert.equal((await send(gw.url, `/letter/search?q=${encodeURIComponent(v)}`)).status, 403, v);
      assert.equal((await post('/letter/search', { q: v })).status, 403, v);
    }
    assert.equal((await send(gw.url, '/letter/search', { headers: { referer: Buffer.from(`http://x/${xss}`, 'utf8').toString('latin1') } })).status, 403);
  });

  it('with unmapped_unicode: low-byte refuses what an upstream truncating characters to bytes would read as XSS, SQL or a traversal', async () => {
    // U+063C U+063E are "<" ">" to Node's Buffer latin1 or a (byte) cast; read as the letter x by default (the documented trade)
    const trunc = (s: string) => s.replace(/['<>/;=-]/g, (c) => String.fromCharCode(0x600 | c.charCodeAt(0)));
    for (const attack of ['<script>alert(1)</script>', "1' or 1=1--", '../../../../etc/passwd']) {
      const v = trunc(attack);
      assert.equal(Buffer.from(v, 'latin1').toString('latin1'), attack);
      assert.equal((await send(gw.url, `/low-byte/search?q=${encodeURIComponent(v)}`)).status, 403, attack);
      assert.equal((await post('/low-byte/search', { q: v })).status, 403, attack);
    }
  });
});
