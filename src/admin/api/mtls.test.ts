/**
 * Admin mTLS (issue 17: "admin tokens ... or admin mTLS"): the admin
 * listener over HTTPS with certificates from the built-in CA; client
 * certificates of admin.tls.client_ca mapped to names and roles by subject
 * CN, SAN or fingerprint; a certificate of another CA, or one that maps to
 * no client, is a 401 and a security event; a token sent wins over the
 * certificate; a cross-site request is not taken on a certificate; TLS
 * below 1.2 is refused; a config with the API and no way to authenticate,
 * or clients without a client CA, is refused at load.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { startGateway, writeConfig, type TestGateway } from '../../../test/helpers/gateway.js';
import { cli } from '../../../test/helpers/cli.js';
import { httpsGet, makePki, tlsHandshake, type IssuedFiles, type Pki, type TlsClientOptions } from '../../../test/helpers/tls.js';
import { sha, TOKENS } from '../../../test/helpers/admin-api.js';

const rest = `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] } }]
`;

describe('admin API over mTLS', () => {
  let pki: Pki;
  let other: Pki;
  let gw: TestGateway;
  let base: string;
  const certs: Record<string, IssuedFiles> = {};
  const events: { type: string; reason?: string }[] = [];

  const adminSectionTls = (serverCert = 'server') => `admin:
  address: "127.0.0.1:0"
  tls: { cert: ${serverCert}.crt, key: ${serverCert}.key, client_ca: ${pki.caFile} }
  api:
    tokens:
      - { name: vic, role: viewer, token_sha256: "${sha(TOKENS.viewer)}" }
    clients:
      - { name: ops, role: admin, subject_cn: ops-admin }
      - { name: olly, role: operator, san: "URI:spiffe://corp.example/olly" }
      - { name: pinned, role: viewer, fingerprint_sha256: "${new X509Certificate(certs.pinned!.certPem).fingerprint256}" }
`;

  /** A call with the client certificate `who` (none when undefined). */
  const call = (who: string | undefined, path: string, options: TlsClientOptions = {}) =>
    httpsGet(base, path, { ca: pki.caPem, ...(who ? { cert: certs[who]!.certPem, key: certs[who]!.keyPem } : {}), ...options });

  before(async () => {
    pki = await makePki('Admin CA');
    other = await makePki('Another CA');
    certs.server = await pki.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
    certs.server2 = await pki.issue('server2', { dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
    certs.ops = await pki.issue('ops', { commonName: 'ops-admin', dns: ['ops.example'], usage: 'client' });
    certs.olly = await pki.issue('olly', { spiffe: 'spiffe://corp.example/olly', usage: 'client' });
    certs.pinned = await pki.issue('pinned', { commonName: 'someone', dns: ['someone.example'], usage: 'client' });
    certs.stranger = await pki.issue('stranger', { commonName: 'stranger', dns: ['stranger.example'], usage: 'client' });
    // Another CA's certificate with the very CN that is admin here.
    certs.impostor = await other.issue('impostor', { commonName: 'ops-admin', dns: ['ops.example'], usage: 'client' });
    gw = await startGateway(`${adminSectionTls()}${rest}`, { dir: pki.dir });
    gw.gateway.telemetry.events.subscribe((e) => events.push(e));
    base = gw.gateway.admin.url!;
  });
  after(() => gw?.close());

  it('serves HTTPS, and maps certificates to clients by subject CN, SAN and fingerprint', async () => {
    assert.match(base, /^https:\/\//);
    const ops = await call('ops', '/api/v1/me');
    assert.equal(ops.status, 200, ops.text);
    const me = ops.json<{ name: string; role: string; via: string }>();
    assert.deepEqual([me.name, me.role, me.via], ['ops', 'admin', 'certificate']);
    assert.equal((await call('olly', '/api/v1/me')).json().role, 'operator');
    assert.equal((await call('pinned', '/api/v1/me')).json().name, 'pinned');
  });

  it('a certificate client writes with its role; the change is audited in its name', async () => {
    const list = await call('ops', '/api/v1/consumers');
    const created = await call('ops', '/api/v1/consumers', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'if-match': String(list.headers.etag) },
      body: JSON.stringify({ name: 'newcomer' }),
    });
    assert.equal(created.status, 201, created.text);
    const versions = (await call('pinned', '/api/v1/config/versions')).json<{ items: { actor: string }[] }>();
    assert.equal(versions.items[0]!.actor, 'admin ops');
    // The viewer's certificate cannot write.
    const again = await call('pinned', '/api/v1/consumers');
    const refused = await call('pinned', '/api/v1/consumers', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'if-match': String(again.headers.etag) },
      body: JSON.stringify({ name: 'another' }),
    });
    assert.equal(refused.status, 403);
  });

  it('refuses a certificate of another CA (even with an admin\'s CN), one that maps to no client, and none: 401 and an event', async () => {
    events.length = 0;
    assert.equal((await call('impostor', '/api/v1/me')).status, 401);
    assert.equal((await call('stranger', '/api/v1/me')).status, 401);
    assert.equal((await call(undefined, '/api/v1/me')).status, 401);
    const reasons = events.filter((e) => e.type === 'admin.unauthorized').map((e) => e.reason);
    assert.deepEqual(reasons, ['untrusted_certificate', 'unknown_certificate', 'missing_token']);
  });

  it('a token works over HTTPS, and a token sent wins over the certificate', async () => {
    const token = await call(undefined, '/api/v1/me', { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
    assert.equal(token.json().name, 'vic');
    const both = await call('ops', '/api/v1/me', { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
    assert.equal(both.json().role, 'viewer');
    assert.equal((await call('ops', '/api/v1/me', { headers: { authorization: 'Bearer pca_wrong' } })).status, 401, 'a wrong token is not rescued by the certificate');
  });

  it('does not take a cross-site request on a certificate (the browser sends it unasked)', async () => {
    assert.equal((await call('ops', '/api/v1/me', { headers: { 'sec-fetch-site': 'cross-site' } })).status, 403);
    const read = await call('ops', '/api/v1/consumers/newcomer');
    const forged = await call('ops', '/api/v1/consumers/newcomer', { method: 'DELETE', headers: { origin: 'https://evil.example', 'if-match': String(read.headers.etag) } });
    assert.equal(forged.status, 403);
    assert.equal((await call('ops', '/api/v1/consumers/newcomer')).status, 200, 'nothing deleted');
    const own = new URL(base);
    assert.equal((await call('ops', '/api/v1/me', { headers: { 'sec-fetch-site': 'same-origin', origin: own.origin } })).status, 200);
  });

  it('refuses TLS 1.1 and below', async () => {
    const port = Number(new URL(base).port);
    await assert.rejects(tlsHandshake(port, { ca: pki.caPem, servername: 'localhost', minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }));
    const ok = await tlsHandshake(port, { ca: pki.caPem, servername: 'localhost' });
    assert.match(ok.protocol ?? '', /TLSv1\.[23]/);
  });

  it('refuses TLS renegotiation: a second handshake cannot bring another certificate', async () => {
    const socket = connectTls({ port: Number(new URL(base).port), host: '127.0.0.1', servername: 'localhost', ca: pki.caPem, cert: certs.ops!.certPem, key: certs.ops!.keyPem, maxVersion: 'TLSv1.2' });
    socket.on('error', () => {});
    await once(socket, 'secureConnect');
    const refused = await new Promise<boolean>((resolve) => {
      const asked = socket.renegotiate({ rejectUnauthorized: false }, (err) => resolve(err !== null));
      if (!asked) resolve(true);
      // The server answers a renegotiation it refuses with an alert that ends the connection.
      socket.once('close', () => resolve(true));
    });
    socket.destroy();
    assert.ok(refused, 'the renegotiation was refused');
  });

  it('serves a new server certificate after a reload, on the same listener', async () => {
    const before = (await call('ops', '/healthz')).peer.fingerprint256;
    const reloaded = await gw.reload(`${adminSectionTls('server2')}${rest}`);
    assert.equal(reloaded.ok, true);
    assert.equal(gw.gateway.admin.url, base);
    const after = await call('ops', '/healthz');
    assert.equal(after.status, 200);
    assert.notEqual(after.peer.fingerprint256, before);
    assert.equal(after.peer.fingerprint256, new X509Certificate(certs.server2!.certPem).fingerprint256.replace(/:/g, '').toLowerCase());
  });
});

describe('admin mTLS turned on by a reload', () => {
  it('a listener on HTTPS with tokens only starts asking for client certificates once client_ca and clients are added', async () => {
    const pki = await makePki('Reload CA');
    await pki.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
    const ops = await pki.issue('ops', { commonName: 'ops-admin', dns: ['ops.example'], usage: 'client' });
    const section = (clients: boolean) => `admin:
  address: "127.0.0.1:0"
  tls: { cert: server.crt, key: server.key${clients ? `, client_ca: ${pki.caFile}` : ''} }
  api:
    tokens: [{ name: vic, role: viewer, token_sha256: "${sha(TOKENS.viewer)}" }]
${clients ? '    clients: [{ name: ops, role: admin, subject_cn: ops-admin }]\n' : ''}`;
    const gw = await startGateway(`${section(false)}${rest}`, { dir: pki.dir });
    try {
      const me = (url: string) => httpsGet(url, '/api/v1/me', { ca: pki.caPem, cert: ops.certPem, key: ops.keyPem });
      assert.equal((await me(gw.gateway.admin.url!)).status, 401, 'no certificate asked for: none seen');
      assert.equal((await gw.reload(`${section(true)}${rest}`)).ok, true);
      const after = await me(gw.gateway.admin.url!);
      assert.equal(after.status, 200, after.text);
      assert.equal(after.json().name, 'ops');
    } finally {
      await gw.close();
    }
  });
});

describe('admin mTLS: refused at load', () => {
  const validateYaml = async (yaml: string) => cli(['validate', writeConfig(yaml)]);

  it('the API with neither tokens nor clients; clients without a client CA; a client with two ways to match; an unreadable certificate', async () => {
    const pki = await makePki('Load CA');
    await pki.issue('server', { dns: ['localhost'], usage: 'server' });
    const none = await validateYaml(`admin: { address: "127.0.0.1:0", api: {} }${rest}`);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /admin\.api: the admin API needs a way to authenticate/);
    const noCa = await validateYaml(`admin:
  address: "127.0.0.1:0"
  tls: { cert: ${join(pki.dir, 'server.crt')}, key: ${join(pki.dir, 'server.key')} }
  api: { clients: [{ name: a, role: admin, subject_cn: a }] }${rest}`);
    assert.equal(noCa.code, 1);
    assert.match(noCa.stderr, /:\d+: admin\.api\.clients: client certificates need admin\.tls with client_ca/);
    const two = await validateYaml(`admin:
  address: "127.0.0.1:0"
  tls: { cert: ${join(pki.dir, 'server.crt')}, key: ${join(pki.dir, 'server.key')}, client_ca: ${pki.caFile} }
  api: { clients: [{ name: a, role: admin, subject_cn: a, san: "DNS:a.example" }] }${rest}`);
    assert.equal(two.code, 1);
    assert.match(two.stderr, /admin\.api\.clients\[0\]: give exactly one of fingerprint_sha256, subject_cn or san/);
    const missing = await validateYaml(`admin:
  address: "127.0.0.1:0"
  tls: { cert: ${join(pki.dir, 'nowhere.crt')}, key: ${join(pki.dir, 'server.key')} }${rest}`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /:\d+: admin\.tls\.cert: cannot read .*nowhere\.crt: ENOENT/);
    const wrongKey = pki.write('wrong.key', (await pki.issue('other', { dns: ['x'] })).keyPem);
    const mismatch = await validateYaml(`admin:
  address: "127.0.0.1:0"
  tls: { cert: ${join(pki.dir, 'server.crt')}, key: ${wrongKey} }${rest}`);
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stderr, /admin\.tls: the certificate, key or client_ca cannot be used/);
    const good = await validateYaml(`admin:
  address: "127.0.0.1:0"
  tls: { cert: ${join(pki.dir, 'server.crt')}, key: ${join(pki.dir, 'server.key')}, client_ca: ${pki.caFile} }
  api: { clients: [{ name: a, role: admin, subject_cn: a }] }${rest}`);
    assert.equal(good.code, 0, good.stderr);
  });
});

describe('admin mTLS: a client CA replaced by a reload', () => {
  it('closes idle connections verified against the old CA, and does not take a busy one on its certificate, closing it after that answer', async () => {
    const pki = await makePki('Admin CA');
    const next = await makePki('Next admin CA');
    const server = await pki.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
    const ops = await pki.issue('ops', { commonName: 'ops-admin', dns: ['ops.example'], usage: 'client' });
    const section = (ca: string) => `admin:
  address: "127.0.0.1:0"
  tls: { cert: ${server.cert}, key: ${server.key}, client_ca: ${ca} }
  api:
    clients:
      - { name: ops, role: admin, subject_cn: ops-admin }
`;
    const gw = await startGateway(`${section(pki.caFile)}${rest}`, { dir: pki.dir });
    const open = async () => {
      const socket = connectTls({ port: Number(new URL(gw.gateway.admin.url!).port), host: '127.0.0.1', servername: 'localhost', ca: pki.caPem, cert: ops.certPem, key: ops.keyPem });
      socket.on('error', () => {});
      await once(socket, 'secureConnect');
      const first = await exchange(socket, 'GET /api/v1/me HTTP/1.1\r\nHost: localhost\r\n\r\n');
      assert.match(first, /^HTTP\/1\.1 200 /, first);
      return socket;
    };
    try {
      const idle = await open();
      const busy = await open();
      // The busy one is part way through its next request when the reload lands.
      busy.write('GET /api/v1/me HTTP/1.1\r\nHost: local');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const idleClosed = once(idle, 'close');
      assert.equal((await gw.reload(`${section(next.caFile)}${rest}`)).ok, true);
      await idleClosed;
      // Its certificate chains only to the CA the reload removed.
      const second = await exchange(busy, 'host\r\n\r\n');
      assert.match(second, /^HTTP\/1\.1 401 /, second);
      assert.match(second, /\r\nconnection: close\r\n/i);
      busy.destroy();
    } finally {
      await gw.close();
    }
  });
});

/** Writes one request on a kept-alive TLS connection and reads its whole answer (by Content-Length). */
function exchange(socket: TLSSocket, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
      if (text.length >= end + 4 + length) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed before an answer: ${JSON.stringify(text)}`)));
    socket.write(request);
  });
}
