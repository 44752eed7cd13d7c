import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import type { ClientHttp2Session } from 'node:http2';
import { send, startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';
import { startRedis, type TestRedis } from '../../../test/helpers/redis.js';
import { h2Request, h2Session, makePki } from '../../../test/helpers/tls.js';

const SECRET = 'hmac-shared-secret-for-the-tests-0123456789';

interface SignOptions {
  method?: string;
  path?: string;
  query?: string;
  body?: string;
  keyid?: string;
  secret?: string;
  created?: number;
  components?: string[];
  digestOf?: string;
}

describe('hmac-auth (HTTP Message Signatures)', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let authority: string;

  /** A client signing as RFC 9421 §2.5 says, written out by hand so it shares no code with the gateway. */
  function signed(o: SignOptions = {}): { path: string; method: string; headers: Record<string, string>; body?: string } {
    const method = o.method ?? 'GET';
    const path = o.path ?? '/signed/orders';
    const query = o.query ?? '';
    const headers: Record<string, string> = {};
    if (o.body !== undefined) headers['content-digest'] = `sha-256=:${createHash('sha256').update(o.digestOf ?? o.body).digest('base64')}:`;
    const components = o.components ?? (o.body !== undefined ? ['@method', '@authority', '@path', '@query', 'content-digest'] : ['@method', '@authority', '@path', '@query']);
    const value = (c: string) =>
      ({
        '@method': method,
        '@authority': authority,
        '@path': path,
        '@query': query === '' ? '?' : `?${query}`,
        '@target-uri': `http://${authority}${path}${query === '' ? '' : `?${query}`}`,
        'content-digest': headers['content-digest'],
      })[c];
    const params = `(${components.map((c) => `"${c}"`).join(' ')});created=${o.created ?? Math.floor(Date.now() / 1000)};keyid="${o.keyid ?? 'client-1'}";alg="hmac-sha256"`;
    const base = [...components.map((c) => `"${c}": ${value(c)}`), `"@signature-params": ${params}`].join('\n');
    headers['signature-input'] = `sig1=${params}`;
    headers.signature = `sig1=:${createHmac('sha256', o.secret ?? SECRET).update(base).digest('base64')}:`;
    return { path: query === '' ? path : `${path}?${query}`, method, headers, body: o.body };
  }
  const go = (r: ReturnType<typeof signed>, extra: Record<string, string> = {}) => send(gw.url, r.path, { method: r.method, headers: { ...r.headers, ...extra }, body: r.body });

  const config = () => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: signed, service: echo, match: { paths: [/signed] }, policies: [{ hmac-auth: { max_age: 2m, clock_skew: 10s } }] }
consumers:
  - name: partner
    groups: [partners]
    credentials: { hmac-auth: [{ id: partner-key, key_id: client-1, secret: "${SECRET}" }] }
`;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(config());
    authority = new URL(gw.url).host;
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('accepts a signed GET, tells the upstream who signed, and removes the signature', async () => {
    const res = await go(signed({ query: 'page=2' }));
    assert.equal(res.status, 200);
    const seen = res.json();
    assert.equal(seen.url, '/signed/orders?page=2');
    assert.equal(seen.headers['x-consumer-name'], 'partner');
    assert.equal(seen.headers['x-credential-id'], 'partner-key');
    assert.equal(seen.headers.signature, undefined);
    assert.equal(seen.headers['signature-input'], undefined);
  });

  it('accepts a signed POST whose Content-Digest matches the body, and forwards the body', async () => {
    const res = await go(signed({ method: 'POST', body: '{"amount":10}' }));
    assert.equal(res.status, 200);
    assert.equal(res.json().body, '{"amount":10}');
  });

  it('accepts @target-uri as the covered request target', async () => {
    const res = await go(signed({ path: '/signed/t', components: ['@method', '@authority', '@target-uri'] }));
    assert.equal(res.status, 200);
  });

  it('refuses a replayed signature within the window, as a high-severity event', async () => {
    const request = signed({ path: '/signed/once' });
    assert.equal((await go(request)).status, 200);
    const again = await go(request);
    assert.equal(again.status, 401);
    const line = await gw.waitForLog((l) => l.type === 'access' && l.request_id === again.headers['x-request-id']);
    assert.deepEqual(line.events, ['blocked:auth.replayed_signature']);
  });

  it('still refuses a replay after the config is reloaded', async () => {
    const request = signed({ path: '/signed/reloaded' });
    assert.equal((await go(request)).status, 200);
    assert.deepEqual(await gw.reload(config()), { ok: true, version: 2 });
    assert.equal((await go(request)).status, 401);
  });

  it('answers a request without a signature with the challenge and the signature it wants', async () => {
    const res = await send(gw.url, '/signed/x');
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], 'Signature realm="portcullis"');
    assert.match(String(res.headers['accept-signature']), /^sig1=\("@method" "@authority" "@path" "@query" "content-digest"\);created;keyid;alg="hmac-sha256"$/);
  });

  const refused: Array<[string, () => ReturnType<typeof signed>, Record<string, string>?]> = [
    ['a wrong secret', () => signed({ secret: 'another-secret-of-enough-length-0123456789' })],
    ['an unknown keyid', () => signed({ keyid: 'client-9' })],
    ['a signature older than max_age', () => signed({ created: Math.floor(Date.now() / 1000) - 180 })],
    ['a signature created in the future', () => signed({ created: Math.floor(Date.now() / 1000) + 120 })],
    ['a body that is not the digested one', () => signed({ method: 'POST', body: '{"amount":99999}', digestOf: '{"amount":10}' })],
    ['a body without a signed digest', () => signed({ method: 'POST', body: '{"a":1}', components: ['@method', '@authority', '@path', '@query'] })],
    ['a signature that does not cover the path', () => signed({ components: ['@method', '@authority'] })],
    ['a signature that does not cover the method', () => signed({ components: ['@authority', '@path', '@query'] })],
    [
      'a signature for another path',
      () => {
        const r = signed({ path: '/signed/a' });
        return { ...r, path: '/signed/b' };
      },
    ],
    ['Signature without Signature-Input', () => ({ ...signed(), headers: { signature: signed().headers.signature! } })],
    ['an unparseable Signature-Input', () => signed(), { 'signature-input': 'sig1=("@method"' }],
    ['a Signature that is no byte sequence', () => signed(), { signature: 'sig1="abc"' }],
  ];
  for (const [name, make, extra] of refused) {
    it(`refuses ${name} with 401, forwarding nothing`, async () => {
      const before = upstream.seen.length;
      const res = await go(make(), extra);
      assert.equal(res.status, 401);
      assert.equal(res.json().error.message, 'Authentication is required.');
      assert.equal(upstream.seen.length, before);
    });
  }
});

/** Signs method, authority, path and an empty query (and content-digest when given a body to digest), as in RFC 9421 §2.5. */
function signedHeaders(authority: string, method: string, path: string, digestOf?: string): Record<string, string> {
  const headers: Record<string, string> = {};
  const components = ['@method', '@authority', '@path', '@query'];
  if (digestOf !== undefined) {
    headers['content-digest'] = `sha-256=:${createHash('sha256').update(digestOf).digest('base64')}:`;
    components.push('content-digest');
  }
  const value: Record<string, string | undefined> = { '@method': method, '@authority': authority, '@path': path, '@query': '?', 'content-digest': headers['content-digest'] };
  const params = `(${components.map((c) => `"${c}"`).join(' ')});created=${Math.floor(Date.now() / 1000)};keyid="client-1";alg="hmac-sha256"`;
  const base = [...components.map((c) => `"${c}": ${value[c]}`), `"@signature-params": ${params}`].join('\n');
  headers['signature-input'] = `sig1=${params}`;
  headers.signature = `sig1=:${createHmac('sha256', SECRET).update(base).digest('base64')}:`;
  return headers;
}

describe('hmac-auth over HTTP/2, where a body needs no Content-Length', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let session: ClientHttp2Session;
  let authority: string;

  const sign = (method: string, path: string, digestOf?: string) => ({ ':method': method, ':path': path, ...signedHeaders(authority, method, path, digestOf) });

  before(async () => {
    const pki = await makePki();
    await pki.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'] });
    upstream = await startUpstream();
    gw = await startGateway(
      `
listeners:
  - { name: main, address: "127.0.0.1:0", protocol: https, tls: { certificates: [{ cert: server.crt, key: server.key }] } }
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: signed, service: echo, match: { paths: [/signed] }, policies: [{ hmac-auth: {} }] }
consumers:
  - { name: partner, credentials: { hmac-auth: [{ key_id: client-1, secret: "${SECRET}" }] } }
`,
      { dir: pki.dir },
    );
    // node:http2 sends the TLS server name as :authority.
    authority = `localhost:${gw.port}`;
    session = await h2Session(gw.url, { ca: pki.caPem });
  });
  after(async () => {
    session.close();
    await gw.close();
    await upstream.close();
  });

  it('accepts a signed request without a body, and one whose body matches its signed digest', async () => {
    assert.equal((await h2Request(session, sign('GET', '/signed/a'))).status, 200);
    const res = await h2Request(session, sign('POST', '/signed/b', '{"amount":10}'), '{"amount":10}');
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.text).body, '{"amount":10}');
  });

  it('refuses a body the signature does not cover, though no Content-Length announced it', async () => {
    const before = upstream.seen.length;
    const res = await h2Request(session, sign('POST', '/signed/c'), '{"amount":99999}');
    assert.equal(res.status, 401);
    assert.equal(upstream.seen.length, before);
  });

  it('refuses a body that is not the digested one, though no Content-Length announced it', async () => {
    const before = upstream.seen.length;
    const res = await h2Request(session, sign('POST', '/signed/d', '{"amount":10}'), '{"amount":99999}');
    assert.equal(res.status, 401);
    assert.equal(upstream.seen.length, before);
  });
});

describe('hmac-auth on gateway nodes sharing Redis', () => {
  let redis: TestRedis;
  let upstream: TestUpstream;
  const nodes: TestGateway[] = [];

  before(async () => {
    redis = await startRedis();
    upstream = await startUpstream();
    for (let i = 0; i < 2; i++) {
      nodes.push(
        await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
store: { kind: redis, url: "${redis.url}" }
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: signed, service: echo, match: { paths: [/signed] }, policies: [{ hmac-auth: {} }] }
consumers:
  - { name: partner, credentials: { hmac-auth: [{ key_id: client-1, secret: "${SECRET}" }] } }
`),
      );
    }
  });
  after(async () => {
    for (const node of nodes) await node.close();
    await upstream.close();
    await redis.close();
  });

  it('refuses on one node a signature another node accepted', async () => {
    const headers = { host: 'api.example.test', ...signedHeaders('api.example.test', 'GET', '/signed/fleet') };
    assert.equal((await send(nodes[0]!.url, '/signed/fleet', { headers })).status, 200);
    const replay = await send(nodes[1]!.url, '/signed/fleet', { headers });
    assert.equal(replay.status, 401);
    const line = await nodes[1]!.waitForLog((l) => l.type === 'access' && l.request_id === replay.headers['x-request-id']);
    assert.deepEqual(line.events, ['blocked:auth.replayed_signature']);
  });
});
