/**
 * Red team (s8): the CRS engine's memory across requests (memo.ts: transformed forms, literal hits, and since
 * s8-crsfast the raw values' chain hits and "did not match" marks) must hold no credential. It knew cookies and
 * credential-looking names (Authorization, X-Api-Key, password=...), but key-auth reads its key from whatever header
 * or query parameter the operator names: `header: X-Client-Key` or `query: key` kept every caller's API key, its
 * decoded and lower-cased forms, and the request line holding it, for the life of the process; so did jwt and
 * oauth2-introspection with `token: { header: X-Identity, query: t }`. Over a real gateway.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../../test/helpers/upstream.js';
import { SignJWT } from 'jose';
import { ValueMemo } from './memo.js';

const HMAC_SECRET = 'memo-credentials-test-secret-0123456789abcdef';

describe('red team: API keys and tokens under operator-chosen names stay out of the CRS memory', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  /** What this file's requests put in any ValueMemo . */
  const remembered: string[] = [];
  // the method itself, put back after: it is only ever called with call(this)
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const set = ValueMemo.prototype.set;
  before(async () => {
    // the memory is read as it is written: every rule set's memo goes through ValueMemo.set
    ValueMemo.prototype.set = function (this: ValueMemo<unknown>, key: string, value: unknown, size: number) {
      const texts = [key, ...(value instanceof Map ? [...(value as Map<string, string>).values()] : [])];
      for (const t of texts) if (/k3ymark|plainmark|eyJ/i.test(t)) remembered.push(t);
      return set.call(this, key, value, size);
    } as typeof set;
    upstream = await startUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: r, service: s, match: { paths: [/r] }, policies: [{ waf: { engine: crs } }, { key-auth: { header: X-Client-Key, query: key } }] }
  - name: j
    service: s
    match: { paths: [/j] }
    policies:
      - waf: { engine: crs }
      - jwt:
          issuers: [{ issuer: "https://k3ymark.test", name: km, algorithms: [HS256], keys: [{ kid: h-1, secret: "${HMAC_SECRET}" }] }]
          token: { header: X-Identity, query: t }
consumers:
  - name: alice
    credentials: { key-auth: [{ key: "Alice-K3ymark%2B0123456789" }, { key: "Alice-Q-K3ymark-0123" }] }
`);
  });
  after(async () => {
    ValueMemo.prototype.set = set;
    await gw.close();
    await upstream.close();
  });

  it('remembers the plain User-Agent but no key or token, in the header or in the query, nor any form of them', async () => {
    for (let i = 0; i < 2; i++) {
      const h = await send(gw.url, '/r/a', { headers: { 'x-client-key': 'Alice-K3ymark%2B0123456789', 'user-agent': 'PlainMark%2BAgent/1.0' } });
      assert.equal(h.status, 200);
      const q = await send(gw.url, '/r/b?key=Alice-Q-K3ymark-0123', { headers: { 'user-agent': 'PlainMark%2BAgent/1.0' } });
      assert.equal(q.status, 200);
    }
    // a JWT under a header or query parameter of the policy's choosing (its payload names the issuer "k3ymark")
    const token = await new SignJWT({ sub: 'alice' }).setIssuer('https://k3ymark.test').setIssuedAt().setExpirationTime('5m').setProtectedHeader({ alg: 'HS256', kid: 'h-1' }).sign(Buffer.from(HMAC_SECRET));
    const marked = (t: string): boolean => /k3ymark/i.test(t) || t.includes(token.split('.')[1]!.slice(0, 20));
    for (let i = 0; i < 2; i++) {
      // the waf reads the request first; jwt then refuses it (a valid token, but no consumer named for it): 401
      assert.equal((await send(gw.url, '/j/a', { headers: { 'x-identity': token, 'user-agent': 'PlainMark%2BAgent/1.0' } })).status, 401);
      assert.equal((await send(gw.url, `/j/b?t=${token}`, { headers: { 'user-agent': 'PlainMark%2BAgent/1.0' } })).status, 401);
    }
    assert.deepEqual(remembered.filter(marked), []);
    assert.ok(remembered.some((t) => /plainmark/i.test(t)), 'the memory is watched');
  });

  it('keeps no JSON body holding a password written with a JSON escape (the body as sent does not contain the value as read)', async () => {
    const body = '{"user":"plainmark-bob","password":"K3ymark-hunt\\u0065r2"}';
    for (let i = 0; i < 2; i++) {
      const r = await send(gw.url, '/r/login', { method: 'POST', headers: { 'x-client-key': 'Alice-K3ymark%2B0123456789', 'content-type': 'application/json' }, body });
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(upstream.seen.at(-1)!.body).password, 'K3ymark-hunter2');
    }
    assert.deepEqual(remembered.filter((t) => /k3ymark/i.test(t)), []);
    assert.deepEqual(remembered.filter((t) => /k3ymark/i.test(t)), []);
  });

  it('keeps no credential-named XML element or attribute (their texts are values with no names to the rules)', async () => {
    const body = '<login><user>plainmark-bob</user><password>K3ymark-hunt&#101;r2</password><key token="K3ymark-attr-tok"/></login>';
    for (let i = 0; i < 2; i++) {
      const r = await send(gw.url, '/r/login', { method: 'POST', headers: { 'x-client-key': 'Alice-K3ymark%2B0123456789', 'content-type': 'application/xml' }, body });
      assert.equal(r.status, 200);
    }
    assert.ok(remembered.some((t) => t.includes('plainmark-bob')), 'the XML texts are read and remembered');
    assert.deepEqual(remembered.filter((t) => /k3ymark/i.test(t)), []);
  });
});

describe('red team: a response body and the sessions an upstream issues stay out of the CRS memory', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  const remembered: string[] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const set = ValueMemo.prototype.set;
  before(async () => {
    ValueMemo.prototype.set = function (this: ValueMemo<unknown>, key: string, value: unknown, size: number) {
      const texts = [key, ...(value instanceof Map ? [...(value as Map<string, string>).values()] : [])];
      for (const t of texts) if (/r3spmark|agent-plainmark/i.test(t)) remembered.push(t);
      return set.call(this, key, value, size);
    } as typeof set;
    // a token endpoint: what it answers belongs to the one caller (the response rules read the body whole)
    upstream = await startUpstream((_req, res) => {
      res.setHeader('set-cookie', ['sid=Sess-R3spmark%2B0123456789; Path=/; HttpOnly']);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ access_token: 'Tok-R3spmark%2B0123456789', token_type: 'bearer' }));
    });
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: r, service: s, public: true, match: { paths: [/] }, policies: [{ waf: { engine: crs, response: { enabled: true } } }] }
`);
  });
  after(async () => {
    ValueMemo.prototype.set = set;
    await gw.close();
    await upstream.close();
  });

  it('inspects the response but keeps neither its body nor its Set-Cookie', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await send(gw.url, '/token', { headers: { 'user-agent': 'Agent-PlainMark%2B/1.0' } });
      assert.equal(r.status, 200);
      assert.equal(r.json().access_token, 'Tok-R3spmark%2B0123456789');
    }
    assert.ok(remembered.some((t) => /agent-plainmark/i.test(t)), 'the memory is watched');
    assert.deepEqual(remembered.filter((t) => /r3spmark/i.test(t)), []);
  });
});
