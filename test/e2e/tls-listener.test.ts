/**
 * HTTPS listeners over real TLS sockets, with certificates made by the
 * built-in CA: the certificate chosen by SNI, refusals of weak protocols and
 * ciphers, HSTS, HTTP/1.1 as strict over TLS as in the clear, expiry
 * reporting, and config errors that name file, line and path.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { startGateway, writeConfig, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { httpsGet, makePki, rawTlsExchange, tlsHandshake, type IssuedFiles, type Pki } from '../helpers/tls.js';
import { Gateway } from '../../src/gateway.js';
import { InvalidConfigError } from '../../src/config/errors.js';
import { CertificateAuthority } from '../../src/ca/authority.js';
import { generateKeys, privateKeyPem } from '../../src/ca/keys.js';
import { x509 } from '../../src/ca/x509.js';
import { Agent, request } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

/**
 * What a client sees when the server ends the handshake with a handshake_failure alert (40). OpenSSL 3.0
 * (Node 20) names it "sslv3 alert handshake failure", OpenSSL 3.2 and later (Node 22, 24) "ssl/tls alert
 * handshake failure": the same alert.
 */
const HANDSHAKE_FAILURE_ALERT = { code: /^ERR_SSL_(SSLV3|SSL\/TLS)_ALERT_HANDSHAKE_FAILURE$/, message: /SSL alert number 40\b/ };

describe('https listener', () => {
  let pki: Pki;
  let upstream: TestUpstream;
  let gw: TestGateway;
  let exact: IssuedFiles;
  let wildcard: IssuedFiles;
  let fallback: IssuedFiles;
  let encrypted: IssuedFiles;
  let rsa: IssuedFiles;
  let strictUrl: string;
  let modernUrl: string;

  before(async () => {
    pki = await makePki();
    exact = await pki.issue('exact', { dns: ['api.example.com'] });
    wildcard = await pki.issue('wildcard', { dns: ['*.apps.example.com'] });
    rsa = await pki.issue('rsa', { dns: ['rsa.example.com'], keyType: 'rsa' });
    fallback = await pki.issue('fallback', { dns: ['localhost'], ips: ['127.0.0.1'] });
    encrypted = await pki.issue('encrypted', { dns: ['secure.example.com'] });
    const lockedKey = createPrivateKey(encrypted.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'open sesame' }) as string;
    pki.write('encrypted.key', lockedKey);
    await pki.issue('soon', { dns: ['soon.example.com'], ttlMs: 5 * 86_400_000 });
    upstream = await startUpstream();
    gw = await startGateway(
      `
gateway: { limits: { headers_timeout: 1s } }
listeners:
  - name: main
    address: "127.0.0.1:0"
    protocol: https
    tls:
      certificates:
        - { cert: exact.crt, key: exact.key }
        - { cert: wildcard.crt, key: wildcard.key }
        - { cert: fallback.crt, key: fallback.key, default: true }
        - { cert: encrypted.crt, key: encrypted.key, passphrase: "\${env:TEST_KEY_PASSPHRASE}" }
        - { hosts: [soon.example.com], cert: soon.crt, key: soon.key }
      hsts: { max_age: 180d, include_subdomains: true }
      expiry_warning: 14d
  - name: strict
    address: "127.0.0.1:0"
    protocol: https
    tls:
      certificates: [{ cert: exact.crt, key: exact.key }, { cert: rsa.crt, key: rsa.key }]
      require_sni: true
  - name: modern
    address: "127.0.0.1:0"
    protocol: https
    tls:
      certificates: [{ cert: fallback.crt, key: fallback.key }]
      min_version: TLSv1.3
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: all, service: echo, public: true, match: { paths: [/echo] } }]
`,
      { env: { ...process.env, TEST_KEY_PASSPHRASE: 'open sesame' }, dir: pki.dir },
    );
    strictUrl = gw.gateway.url('strict');
    modernUrl = gw.gateway.url('modern');
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('chooses the certificate by SNI: exact name, one-label wildcard, default for the rest', async () => {
    const cases: Array<[string | undefined, IssuedFiles]> = [
      ['api.example.com', exact],
      ['API.Example.com', exact],
      ['x.apps.example.com', wildcard],
      ['a.b.apps.example.com', fallback],
      ['apps.example.com', fallback],
      ['unknown.example.org', fallback],
      [undefined, fallback],
    ];
    for (const [servername, expected] of cases) {
      const hs = await tlsHandshake(gw.port, { ca: pki.caPem, servername: servername ?? '', rejectUnauthorized: false });
      assert.equal(hs.fingerprint256, fingerprintOf(expected), `SNI ${servername ?? '(none)'}`);
    }
    const viaWildcard = await httpsGet(gw.url, '/echo', { ca: pki.caPem, servername: 'x.apps.example.com' });
    assert.equal(viaWildcard.status, 200, 'the wildcard certificate verifies for its name');
  });

  it('serves RSA and ECDSA certificates side by side on a listener that requires SNI', async () => {
    const port = Number(new URL(strictUrl).port);
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const viaRsa = await tlsHandshake(port, { ca: pki.caPem, servername: 'rsa.example.com', maxVersion });
      assert.equal(viaRsa.fingerprint256, fingerprintOf(rsa), `RSA by SNI over ${maxVersion}`);
      const viaEc = await tlsHandshake(port, { ca: pki.caPem, servername: 'api.example.com', maxVersion });
      assert.equal(viaEc.fingerprint256, fingerprintOf(exact), `ECDSA by SNI over ${maxVersion}`);
    }
    const res = await httpsGet(strictUrl, '/echo', { ca: pki.caPem, servername: 'rsa.example.com' });
    assert.equal(res.status, 200);
  });

  it('serves a key encrypted with a passphrase given by ${env:...}', async () => {
    const res = await httpsGet(gw.url, '/echo', { ca: pki.caPem, servername: 'secure.example.com' });
    assert.equal(res.status, 200);
    assert.equal(res.peer.cn, 'secure.example.com');
  });

  it('refuses clients without SNI or with an unknown name when require_sni is on, and logs why', async () => {
    const port = Number(new URL(strictUrl).port);
    await assert.rejects(tlsHandshake(port, { ca: pki.caPem, servername: '' }));
    await assert.rejects(tlsHandshake(port, { ca: pki.caPem, servername: 'unknown.example.org' }));
    const ok = await tlsHandshake(port, { ca: pki.caPem, servername: 'api.example.com' });
    assert.equal(ok.fingerprint256, fingerprintOf(exact));
    const logged = await gw.waitForLog((l) => l.msg === 'TLS handshake failed' && l.listener === 'strict' && l.reason === 'ERR_UNKNOWN_SNI');
    assert.match(String(logged.detail), /unknown\.example\.org/);
    await gw.waitForLog((l) => l.msg === 'TLS handshake failed' && l.listener === 'strict' && /no SNI/.test(String(l.reason)));
  });

  it('speaks TLS 1.2 and 1.3 with AEAD ciphers only: older versions, CBC and RSA key exchange are refused by the server', async () => {
    const base = { ca: pki.caPem, servername: 'api.example.com' };
    await assert.rejects(tlsHandshake(gw.port, { ...base, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }), {
      code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    });
    await assert.rejects(tlsHandshake(gw.port, { ...base, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384' }), HANDSHAKE_FAILURE_ALERT);
    // Static RSA key exchange, against an RSA certificate.
    await assert.rejects(tlsHandshake(Number(new URL(strictUrl).port), { ...base, servername: 'rsa.example.com', maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256:AES256-SHA' }), HANDSHAKE_FAILURE_ALERT);
    const rsaTls12 = await tlsHandshake(Number(new URL(strictUrl).port), { ...base, servername: 'rsa.example.com', maxVersion: 'TLSv1.2' });
    assert.match(rsaTls12.cipher, /^ECDHE-RSA-(AES\d+-GCM|CHACHA20-POLY1305)/);
    const tls12 = await tlsHandshake(gw.port, { ...base, maxVersion: 'TLSv1.2' });
    assert.equal(tls12.protocol, 'TLSv1.2');
    assert.match(tls12.cipher, /^ECDHE-ECDSA-(AES\d+-GCM|CHACHA20-POLY1305)/);
    const tls13 = await tlsHandshake(gw.port, base);
    assert.equal(tls13.protocol, 'TLSv1.3');
    // min_version: TLSv1.3.
    await assert.rejects(tlsHandshake(Number(new URL(modernUrl).port), { ...base, servername: 'localhost', maxVersion: 'TLSv1.2' }), {
      code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    });
  });

  it('offers h2 and http/1.1 by ALPN', async () => {
    const h2 = await tlsHandshake(gw.port, { ca: pki.caPem, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] });
    assert.equal(h2.alpn, 'h2');
    const h1 = await tlsHandshake(gw.port, { ca: pki.caPem, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    assert.equal(h1.alpn, 'http/1.1');
  });

  it('sends HSTS on every response, the gateway\'s own errors included', async () => {
    const proxied = await httpsGet(gw.url, '/echo', { ca: pki.caPem });
    assert.equal(proxied.headers['strict-transport-security'], 'max-age=15552000; includeSubDomains');
    const missing = await httpsGet(gw.url, '/nothing-here', { ca: pki.caPem });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['strict-transport-security'], 'max-age=15552000; includeSubDomains');
  });

  it('parses HTTP/1.1 over TLS as strictly as in the clear: a smuggling attempt gets 400 and a closed connection', async () => {
    const before = upstream.seen.length;
    const reply = await rawTlsExchange(
      gw.port,
      'POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /echo/smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n',
      { ca: pki.caPem },
    );
    assert.equal(reply.status, 400, reply.text);
    assert.equal((reply.text.match(/HTTP\/1\.1 \d{3} /g) ?? []).length, 1);
    assert.ok(reply.closed);
    assert.equal(upstream.seen.length, before);
  });

  it('answers a request head that trickles in over TLS with 408 once headers_timeout has passed (slowloris)', async () => {
    const reply = await rawTlsExchange(gw.port, 'GET /echo HTTP/1.1\r\nHost: localhost\r\nX-Slow: 1\r\n', { ca: pki.caPem, waitMs: 5000 });
    assert.equal(reply.status, 408, reply.text);
    assert.ok(reply.closed);
  });

  it('drops a connection that never finishes its TLS handshake (handshake timeout = headers_timeout)', async () => {
    const started = Date.now();
    const closed = await new Promise<boolean>((resolve) => {
      const socket = connect(gw.port, '127.0.0.1');
      socket.on('close', () => resolve(true));
      socket.on('error', () => {});
      // The server's limit is 1 s. The give-up is far past it: on a loaded machine a stalled event loop
      // runs this timer in the same turn as the server's, before the close it caused is read.
      setTimeout(() => {
        resolve(false);
        socket.destroy();
      }, 20_000);
    });
    assert.ok(closed, 'the server closed the silent connection');
    assert.ok(Date.now() - started >= 900, 'not before the timeout');
  });

  it('logs every certificate with its expiry, warns before it, and exposes the expiry gauge', () => {
    const loaded = gw.logs.filter((l) => l.msg === 'certificate loaded' && l.source === 'listener:main');
    assert.ok(loaded.some((l) => l.subject === 'CN=api.example.com' && typeof l.not_after === 'string' && (l.days_left as number) >= 89));
    const warned = gw.logs.find((l) => l.msg === 'certificate expires soon' && l.subject === 'CN=soon.example.com');
    assert.ok(warned, 'a certificate 5 days from expiry is warned about with expiry_warning: 14d');
    assert.equal(warned.level, 'warn');
    assert.ok(!gw.logs.some((l) => l.msg === 'certificate expires soon' && l.subject === 'CN=api.example.com'));
    const gauge = gw.gateway.certificates.gauge();
    const soonGauge = gauge.find((g) => g.source === 'listener:main' && g.subject === 'CN=soon.example.com');
    assert.ok(soonGauge && soonGauge.secondsLeft > 4 * 86_400 && soonGauge.secondsLeft <= 5 * 86_400);
    assert.ok(gauge.some((g) => g.source === 'listener:strict'));
  });
});

describe('WebSockets over an https listener', () => {
  it('relays a wss:// connection (HTTP/1.1 upgrade on TLS) both ways', async () => {
    const pki = await makePki();
    await pki.issue('server', { dns: ['localhost'] });
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    wss.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo:${(data as Buffer).toString()}`)));
    const gw = await startGateway(
      `
listeners: [{ name: main, address: "127.0.0.1:0", protocol: https, tls: { certificates: [{ cert: server.crt, key: server.key }] } }]
services: [{ name: ws, targets: [{ url: "http://127.0.0.1:${(wss.address() as AddressInfo).port}" }] }]
routes: [{ name: chat, service: ws, public: true }]
`,
      { dir: pki.dir },
    );
    try {
      const ws = new WebSocket(`wss://localhost:${gw.port}/chat`, { ca: pki.caPem });
      await once(ws, 'open');
      ws.send('over tls');
      const [reply] = (await once(ws, 'message')) as [Buffer];
      assert.equal(reply.toString(), 'echo:over tls');
      ws.close();
      await once(ws, 'close');
    } finally {
      await gw.close();
      await new Promise((r) => wss.close(r));
    }
  });
});

describe('certificate chains and draining', () => {
  it('serves a certificate with its intermediate to a client that trusts only the root', async () => {
    const pki = await makePki();
    const rootKeys = await generateKeys('ec');
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      name: [{ CN: ['Chain Root'] }],
      keys: { privateKey: rootKeys.privateKey, publicKey: rootKeys.publicKey },
      signingAlgorithm: rootKeys.signingAlgorithm,
      notAfter: new Date(Date.now() + 365 * 86_400_000),
      extensions: [
        new x509.BasicConstraintsExtension(true, 1, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
      ],
    });
    const interKeys = await generateKeys('ec');
    const intermediate = await x509.X509CertificateGenerator.create({
      subject: [{ CN: ['Chain Intermediate'] }],
      issuer: root.subjectName,
      publicKey: interKeys.publicKey,
      signingKey: rootKeys.privateKey,
      signingAlgorithm: rootKeys.signingAlgorithm,
      notAfter: new Date(Date.now() + 300 * 86_400_000),
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(interKeys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(root),
      ],
    });
    const issuing = await CertificateAuthority.load(intermediate.toString('pem'), await privateKeyPem(interKeys.privateKey));
    const leaf = await issuing.issue({ dns: ['chain.example.com'], ttlMs: 90 * 86_400_000 });
    pki.write('chain.crt', leaf.certPem + intermediate.toString('pem') + '\n');
    pki.write('chain.key', leaf.keyPem);
    const gw = await startGateway(
      `listeners: [{ name: main, address: "127.0.0.1:0", protocol: https, tls: { certificates: [{ cert: chain.crt, key: chain.key }] } }]`,
      { dir: pki.dir },
    );
    try {
      const res = await httpsGet(gw.url, '/', { ca: root.toString('pem'), servername: 'chain.example.com' });
      assert.equal(res.status, 404, 'the handshake verified against the root alone');
    } finally {
      await gw.close();
    }
  });

  it('closes idle kept-alive HTTPS connections at shutdown instead of waiting for them', { timeout: 20_000 }, async () => {
    const pki = await makePki();
    await pki.issue('server', { dns: ['localhost'] });
    const gw = await startGateway(
      `
gateway: { shutdown_timeout: 60s, limits: { keepalive_timeout: 60s } }
listeners: [{ name: main, address: "127.0.0.1:0", protocol: https, tls: { certificates: [{ cert: server.crt, key: server.key }] } }]
`,
      { dir: pki.dir },
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const { closed } = await new Promise<{ closed: Promise<void> }>((resolve, reject) => {
      request({ host: '127.0.0.1', port: gw.port, path: '/', ca: pki.caPem, servername: 'localhost', agent }, (res) => {
        const socketClosed = new Promise<void>((done) => res.socket.once('close', () => done()));
        res.resume();
        res.on('end', () => resolve({ closed: socketClosed }));
      })
        .on('error', reject)
        .end();
    });
    // Drain deadline and keep-alive timeout are 60 s: this finishes within the test's 20 s only
    // because the shutdown closes the idle connection at once.
    await gw.close();
    await closed;
    agent.destroy();
  });
});

describe('connection limits on an https listener', () => {
  it('counts TCP connections before the handshake and refuses those over max_connections_per_ip', async () => {
    const pki = await makePki();
    await pki.issue('server', { dns: ['localhost'] });
    const gw = await startGateway(
      `
gateway: { limits: { max_connections_per_ip: 2 } }
listeners: [{ name: main, address: "127.0.0.1:0", protocol: https, tls: { certificates: [{ cert: server.crt, key: server.key }] } }]
`,
      { dir: pki.dir },
    );
    const open = (): Promise<TLSSocket> =>
      new Promise((resolve, reject) => {
        const socket = tlsConnect({ port: gw.port, host: '127.0.0.1', ca: pki.caPem, servername: 'localhost' }, () => resolve(socket));
        socket.once('error', reject);
      });
    try {
      const first = await open();
      const second = await open();
      await assert.rejects(open(), 'a third connection from the same address gets no handshake');
      const logged = await gw.waitForLog((l) => l.msg === 'refused connections: too many from one address');
      assert.equal(logged.limit, 2);
      first.destroy();
      // Once the server has seen the first one close, there is room again.
      let third: TLSSocket | undefined;
      for (let attempt = 0; !third && attempt < 50; attempt++) {
        third = await open().catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 50)));
      }
      assert.ok(third, 'a connection is accepted again');
      third.destroy();
      second.destroy();
    } finally {
      await gw.close();
    }
  });
});

describe('https listener config errors', () => {
  let pki: Pki;

  before(async () => {
    pki = await makePki();
    await pki.issue('a', { dns: ['a.example.com'] });
    await pki.issue('b', { dns: ['b.example.com'] });
    await pki.issue('r', { dns: ['r.example.com'], keyType: 'rsa' });
  });

  it('refuses broken TLS settings with file, line, path and what to do', async () => {
    execFileSync('mkfifo', [join(pki.dir, 'fifo.crt')]);
    const file = writeConfig(
      `listeners:
  - { name: bare, address: "127.0.0.1:0", protocol: https }
  - name: broken
    address: "127.0.0.1:0"
    protocol: https
    tls:
      certificates:
        - { cert: a.crt, key: b.key }
        - { cert: missing.crt, key: a.key }
        - { hosts: [c.example.com], cert: a.crt, key: a.key }
      client_auth: { mode: required }
  - { name: plain, address: "127.0.0.1:0", redirect_to: secure }
  - name: mixed
    address: "127.0.0.1:0"
    protocol: https
    tls:
      certificates:
        - { cert: a.crt, key: a.key }
        - { cert: r.crt, key: r.key }
  - name: inline
    address: "127.0.0.1:0"
    protocol: https
    tls:
      certificates:
        - { cert: a.crt, key: "\${file:b.key}" }
        - { hosts: [f.example.com], cert: fifo.crt, key: a.key }
`,
      pki.dir,
    );
    const err = await Gateway.start({ configFile: file }).then(
      () => assert.fail('started'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof InvalidConfigError);
    const lines = err.issues.map((i) => `${i.line}: ${i.path}: ${i.message}`);
    const expect = (pattern: RegExp) => assert.ok(lines.some((l) => pattern.test(l)), `${pattern}\n${lines.join('\n')}`);
    expect(/^2: listeners\[0\]\.protocol: an https listener needs tls/);
    expect(/^8: listeners\[1\]\.tls\.certificates\[0\]\.key: b\.key with a\.crt: the private key does not match the certificate/);
    expect(/^9: listeners\[1\]\.tls\.certificates\[1\]\.cert: cannot read missing\.crt: file not found/);
    expect(/^10: listeners\[1\]\.tls\.certificates\[2\]\.hosts: a\.crt does not cover "c\.example\.com" \(its names: a\.example\.com\)/);
    expect(/^11: listeners\[1\]\.tls\.client_auth\.ca: client_auth mode "required" needs ca/);
    expect(/^12: listeners\[2\]\.redirect_to: no listener named "secure"/);
    // A key written into the config (here through ${file:}) is named, never repeated.
    expect(/^25: listeners\[4\]\.tls\.certificates\[0\]\.key: inline PEM with a\.crt: the private key does not match the certificate$/);
    assert.ok(!lines.some((l) => l.includes('PRIVATE KEY')), lines.join('\n'));
    // A pipe where a certificate should be is refused, not read without end.
    expect(/^26: listeners\[4\]\.tls\.certificates\[1\]\.cert: cannot read fifo\.crt: not a regular file/);
    expect(/^19: listeners\[3\]\.tls\.certificates\[1\]\.cert: r\.crt has an RSA key but the default certificate \(a\.crt\) has an EC key: .*require_sni: true/);
  });
});

function fingerprintOf(files: IssuedFiles): string {
  return new X509Certificate(files.certPem).fingerprint256.replace(/:/g, '').toLowerCase();
}

describe('TLS session tickets', () => {
  let pki: Pki;
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    pki = await makePki();
    await pki.issue('server', { dns: ['localhost'], ips: ['127.0.0.1'] });
    upstream = await startUpstream();
    gw = await startGateway(
      `
listeners:
  - { name: rotating, address: "127.0.0.1:0", protocol: https, tls: { certificates: [{ cert: server.crt, key: server.key }], ticket_key_rotation: 1s } }
  - { name: off, address: "127.0.0.1:0", protocol: https, tls: { certificates: [{ cert: server.crt, key: server.key }], session_tickets: false } }
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: all, service: echo, public: true }]
`,
      { dir: pki.dir },
    );
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  /** One TLS 1.2 handshake (its ticket arrives within the handshake); the session to resume with, and whether this one was resumed. */
  function handshake(listener: string, session?: Buffer): Promise<{ session: Buffer | undefined; resumed: boolean }> {
    const port = Number(new URL(gw.gateway.url(listener)).port);
    return new Promise((resolve, reject) => {
      const socket: TLSSocket = tlsConnect({ host: '127.0.0.1', port, ca: pki.caPem, servername: 'localhost', maxVersion: 'TLSv1.2', session }, () => {
        const result = { session: socket.getSession(), resumed: socket.isSessionReused() };
        socket.end();
        resolve(result);
      });
      socket.on('error', reject);
    });
  }

  it('resumes sessions by ticket, and stops accepting a ticket once its key has been rotated out', async () => {
    let first = await handshake('rotating');
    assert.equal(first.resumed, false);
    assert.ok(first.session);
    let second = await handshake('rotating', first.session);
    if (!second.resumed) {
      // The keys may have rotated between the two handshakes (once a second): the next pair falls within one period.
      first = await handshake('rotating');
      second = await handshake('rotating', first.session);
    }
    assert.equal(second.resumed, true, 'a fresh ticket resumes');
    await new Promise((r) => setTimeout(r, 1300));
    const later = await handshake('rotating', first.session);
    assert.equal(later.resumed, false, 'a ticket sealed with a rotated-out key needs a full handshake');
  });

  it('never resumes when session tickets are off', async () => {
    const first = await handshake('off');
    const second = await handshake('off', first.session);
    assert.equal(second.resumed, false);
  });
});
