/**
 * A control plane and two data planes, in-process gateways talking over real
 * mutual-TLS sockets on loopback, with certificates from a real fleet CA.
 * What a user sees: a key removed at the control plane is refused on both
 * data planes; a rollback restores it everywhere; a version a data plane
 * cannot run is refused there and reported; data planes keep serving with the
 * control plane down and restart from disk; wrong certificates, wrong CAs and
 * a reused enrolment token are refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CertificateAuthority } from '../../src/ca/authority.js';
import { ControlPlane } from '../../src/cluster/fleet/control-plane.js';
import { DataPlane, type GatewayPlane } from '../../src/cluster/fleet/data-plane.js';
import { PATHS, nodeId } from '../../src/cluster/fleet/protocol.js';
import { createToken } from '../../src/cluster/fleet/tokens.js';
import { makeRequest } from '../../src/cluster/fleet/csr.js';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef01';

/** A generous bound for "within a second": polled, never asserted as a time. */
const BOUND_MS = 10_000;

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = BOUND_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`not within ${timeoutMs} ms: ${what}`);
}

class Lines extends Writable {
  readonly lines: Array<Record<string, unknown>> = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    for (const line of chunk.toString().split('\n')) if (line) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
  has(msg: string): boolean {
    return this.lines.some((l) => l.msg === msg);
  }
}

function cpConfig(upstream: string, dir: string, o: { alice?: boolean; extra?: string } = {}): string {
  return `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream}" }] }]
routes:
  - name: api
    service: s
    match: { paths: [/api] }
    policies: [{ key-auth: {} }]
consumers:
${o.alice === false ? '' : `  - { name: alice, credentials: { key-auth: [{ key: "${ALICE}" }] } }\n`}  - { name: bob, credentials: { key-auth: [{ key: "${BOB}" }] } }
fleet:
  role: control_plane
  address: "127.0.0.1:0"
  state_dir: ${join(dir, 'cp-state')}
  ca: { cert: ${join(dir, 'ca.crt')}, key: ${join(dir, 'ca.key')} }
  poll_timeout: 2s
${o.extra ?? ''}
`;
}

function dpConfig(dir: string, name: string, cpUrl: string, token: string | undefined, caFile = join(dir, 'ca.crt')): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `
listeners: [{ name: main, address: "127.0.0.1:0" }]
fleet:
  role: data_plane
  name: ${name}
  control_plane: "${cpUrl}"
  ca: { cert: ${caFile} }
  state_dir: ${join(dir, `${name}-state`)}
  report_interval: 200ms
${token ? `  enrolment_token: "${token}"` : ''}
`,
  );
  return file;
}

async function status(dp: GatewayPlane, key: string): Promise<number> {
  return (await send(dp.gateway.url(), '/api/x', { headers: { 'x-api-key': key } })).status;
}

/** A raw HTTPS call to the control plane, with whatever client certificate the test holds. */
function raw(url: string, path: string, options: { ca: string; cert?: string; key?: string; method?: string; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      { host: u.hostname, port: u.port, path, method: options.method ?? 'GET', ca: options.ca, cert: options.cert, key: options.key, servername: 'localhost', agent: false },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('fleet: a control plane pushing to two data planes over mTLS', () => {
  let dir: string;
  let upstream: TestUpstream;
  let cp: TestGateway;
  let plane: ControlPlane;
  let ca: CertificateAuthority;
  let caPem: string;
  const dps: GatewayPlane[] = [];
  const logs = new Map<string, Lines>();
  const tokens: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-fleet-'));
    upstream = await startUpstream();
    const created = await CertificateAuthority.create({ name: 'fleet test CA' });
    ca = created.authority;
    caPem = ca.certPem;
    writeFileSync(join(dir, 'ca.crt'), caPem);
    writeFileSync(join(dir, 'ca.key'), created.keyPem, { mode: 0o600 });
    cp = await startGateway(cpConfig(upstream.url, dir));
    plane = await ControlPlane.start(cp.gateway);
    for (const name of ['dp1', 'dp2']) {
      const { token } = createToken(join(dir, 'cp-state'), 600_000, name);
      tokens.push(token);
      const lines = new Lines();
      logs.set(name, lines);
      dps.push(await DataPlane.start({ configFile: dpConfig(dir, name, plane.url, token), logDestination: lines, env: { ...process.env } }));
    }
  });

  after(async () => {
    for (const dp of dps) await dp.shutdown();
    await plane.close();
    await cp.close();
    await upstream.close();
  });

  it('enrols both data planes, which then serve the control plane\'s config', async () => {
    for (const dp of dps) await until('the data plane serves alice', async () => (await status(dp, ALICE)) === 200);
    for (const dp of dps) {
      assert.equal(await status(dp, 'no-such-key-000000000000'), 401);
      assert.equal(dp.running, plane.current.hash);
    }
    await until('both report the running version', () => plane.nodes().filter((n) => n.report.hash === plane.current.hash && n.report.ready).length === 2);
    assert.deepEqual(plane.nodes().map((n) => n.name).sort(), ['dp1', 'dp2']);
  });

  it('a key removed at the control plane is refused on both data planes', async () => {
    const reloaded = await cp.reload(cpConfig(upstream.url, dir, { alice: false }));
    assert.equal(reloaded.ok, true);
    for (const dp of dps) await until('alice refused', async () => (await status(dp, ALICE)) === 401);
    for (const dp of dps) assert.equal(await status(dp, BOB), 200);
  });

  it('a rollback at the control plane restores the previous version everywhere', async () => {
    const before = plane.current.hash;
    assert.equal((await cp.reload(cpConfig(upstream.url, dir))).ok, true);
    assert.notEqual(plane.current.hash, before);
    for (const dp of dps) await until('alice back', async () => (await status(dp, ALICE)) === 200);
    for (const dp of dps) assert.equal(dp.running, plane.current.hash);
  });

  it('a version a data plane cannot run is refused there, reported, and the previous one keeps serving', async () => {
    // The control plane resolves the reference from its own environment; the data planes have no such variable.
    const extra = `telemetry: { node_id: "\${env:ONLY_ON_THE_CONTROL_PLANE}" }`;
    const text = cpConfig(upstream.url, dir, { alice: false, extra });
    // The control plane's gateway reads process.env; each data plane got a copy of it at start, without this variable.
    process.env.ONLY_ON_THE_CONTROL_PLANE = 'cp';
    try {
      assert.equal((await cp.reload(text)).ok, true);
    } finally {
      delete process.env.ONLY_ON_THE_CONTROL_PLANE;
    }
    await until('both data planes report the refusal', () => plane.nodes().filter((n) => n.report.refused?.hash === plane.current.hash).length === 2);
    for (const dp of dps) {
      assert.notEqual(dp.running, plane.current.hash);
      assert.equal(await status(dp, ALICE), 200, 'the previous version (alice allowed) keeps serving');
    }
    const refusal = plane.nodes()[0]!.report.refused!;
    assert.match(refusal.issues.join('\n'), /ONLY_ON_THE_CONTROL_PLANE/);
    await until('the control plane logged it', () => cp.logs.some((l) => String(l.msg).startsWith('fleet: a data plane refused')));
    // The refused version is not asked for again and again: each poll waits for the next version.
    const polls = dps.map((dp) => dp.polls);
    await new Promise((r) => setTimeout(r, 1_000));
    dps.forEach((dp, i) => assert.ok(dp.polls - polls[i]! < 20, `${dp.polls - polls[i]!} polls in a second: the poll spins`));
    // Back to a version they can run, here the one they run already: nothing to apply, and still no spinning.
    assert.equal((await cp.reload(cpConfig(upstream.url, dir))).ok, true);
    for (const dp of dps) await until('back in sync', () => dp.running === plane.current.hash);
    await until('the refusal is no longer reported', () => plane.nodes().every((n) => n.report.refused === undefined));
    const after = dps.map((dp) => dp.polls);
    await new Promise((r) => setTimeout(r, 1_000));
    dps.forEach((dp, i) => assert.ok(dp.polls - after[i]! < 20, `${dp.polls - after[i]!} polls in a second after the rollback: the poll spins`));
  });

  it('refuses an enrolment token used twice', async () => {
    const { csrPem } = await makeRequest('dp1');
    const again = await raw(plane.url, PATHS.enrol, { ca: caPem, method: 'POST', body: JSON.stringify({ token: tokens[0], name: 'dp1', csr: csrPem }) });
    assert.equal(again.status, 403);
    assert.match(again.body, /used/);
    const forged = await raw(plane.url, PATHS.enrol, { ca: caPem, method: 'POST', body: JSON.stringify({ token: `pcf_0123456789abcdef_${'A'.repeat(43)}`, name: 'x', csr: csrPem }) });
    assert.equal(forged.status, 403);
  });

  it('refuses a data plane certificate from another CA, a certificate that is no node\'s, none, and a revoked one', async () => {
    const other = (await CertificateAuthority.create({ name: 'another CA' })).authority;
    const foreign = await other.issue({ spiffe: nodeId('dp1'), usage: 'client', ttlMs: 3_600_000 });
    const r1 = await raw(plane.url, PATHS.config, { ca: caPem, cert: foreign.certPem, key: foreign.keyPem });
    assert.equal(r1.status, 403);
    const service = await ca.issue({ spiffe: 'spiffe://example.org/orders', usage: 'client', ttlMs: 3_600_000 });
    assert.equal((await raw(plane.url, PATHS.config, { ca: caPem, cert: service.certPem, key: service.keyPem })).status, 403);
    assert.equal((await raw(plane.url, PATHS.config, { ca: caPem })).status, 403);
    const good = await ca.issue({ spiffe: nodeId('dp9'), usage: 'client', ttlMs: 3_600_000 });
    const ok = await raw(plane.url, PATHS.config, { ca: caPem, cert: good.certPem, key: good.keyPem });
    assert.equal(ok.status, 200);
    assert.doesNotMatch(ok.body, /role: control_plane|ca\.key/, 'the control plane\'s own fleet section is not pushed');
    // Cut the node off: its serial listed in fleet.revoked.
    assert.equal((await cp.reload(cpConfig(upstream.url, dir, { extra: `  revoked: ["${good.serial}"]` }))).ok, true);
    assert.equal((await raw(plane.url, PATHS.config, { ca: caPem, cert: good.certPem, key: good.keyPem })).status, 403);
    assert.equal((await cp.reload(cpConfig(upstream.url, dir))).ok, true);
  });

  it('a data plane refuses a control plane that does not chain to its CA, and keeps its token', async () => {
    const other = await CertificateAuthority.create({ name: 'the CA the data plane trusts' });
    const otherCa = join(dir, 'other-ca.crt');
    writeFileSync(otherCa, other.authority.certPem);
    const { token } = createToken(join(dir, 'cp-state'), 600_000, 'dp3');
    const lines = new Lines();
    const dp3 = await DataPlane.start({ configFile: dpConfig(dir, 'dp3', plane.url, token, otherCa), logDestination: lines });
    try {
      await until('dp3 says it cannot reach a trusted control plane', () => lines.has('fleet: control plane unreachable or refusing; the running config keeps serving'));
      assert.equal(dp3.running, undefined);
      assert.equal((await send(dp3.gateway.url(), '/api/x', { headers: { 'x-api-key': ALICE } })).status, 404, 'no config pushed: no route');
      assert.equal(existsSync(join(dir, 'dp3-state', 'node.crt')), false);
    } finally {
      await dp3.shutdown();
    }
    // The token never reached the impostor-looking peer: it is still good. A request without proof of a key does not use it up.
    const noProof = await raw(plane.url, PATHS.enrol, { ca: caPem, method: 'POST', body: JSON.stringify({ token, name: 'dp3', csr: 'not a request' }) });
    assert.equal(noProof.status, 400);
    const request = await makeRequest('dp3');
    const enrolled = await raw(plane.url, PATHS.enrol, { ca: caPem, method: 'POST', body: JSON.stringify({ token, name: 'dp3', csr: request.csrPem }) });
    assert.equal(enrolled.status, 200);
    const credentials = JSON.parse(enrolled.body) as { cert: string; key?: string };
    assert.equal(credentials.key, undefined, 'no private key travels');
    assert.ok(new X509Certificate(credentials.cert).checkPrivateKey(createPrivateKey(request.keyPem)), 'the certificate is of the node\'s own key');
    assert.match(new X509Certificate(credentials.cert).subjectAltName ?? '', /spiffe:\/\/portcullis\.fleet\/node\/dp3/);
  });

  it('a data plane renews its certificate with a new key of its own, and keeps syncing on it', async () => {
    // Certificates of seconds (back-dated a minute, so past two thirds of their life at once): renewed at each report.
    assert.equal((await cp.reload(cpConfig(upstream.url, dir, { extra: '  node_certificate_ttl: 5s' }))).ok, true);
    const { token } = createToken(join(dir, 'cp-state'), 600_000, 'dp4');
    const lines = new Lines();
    const dp4 = await DataPlane.start({ configFile: dpConfig(dir, 'dp4', plane.url, token), logDestination: lines, env: { ...process.env } });
    try {
      const certFile = join(dir, 'dp4-state', 'node.crt');
      await until('dp4 enrolled', () => existsSync(certFile));
      const first = new X509Certificate(readFileSync(certFile));
      await until('dp4 renewed', () => lines.has('fleet: node certificate renewed'));
      const renewed = new X509Certificate(readFileSync(certFile));
      assert.notEqual(renewed.serialNumber, first.serialNumber);
      assert.notEqual(renewed.publicKey.export({ format: 'pem', type: 'spki' }), first.publicKey.export({ format: 'pem', type: 'spki' }), 'a new key');
      assert.ok(renewed.checkPrivateKey(createPrivateKey(readFileSync(join(dir, 'dp4-state', 'node.key')))));
      assert.equal((await cp.reload(cpConfig(upstream.url, dir, { alice: false, extra: '  node_certificate_ttl: 5s' }))).ok, true);
      await until('dp4 applies the next version', async () => (await status(dp4, ALICE)) === 401);
    } finally {
      await dp4.shutdown();
    }
    assert.equal((await cp.reload(cpConfig(upstream.url, dir))).ok, true);
  });

  it('with the control plane stopped, data planes keep serving, and a restarted one starts from disk', async () => {
    for (const dp of dps) await until('in sync', () => dp.running === plane.current.hash);
    // A connection still in its TLS handshake (here: one that never starts it) must not hold the close open:
    // the server's closeAllConnections() does not see it, and TLS would wait 120 s for its hello.
    const idle = connect(Number(new URL(plane.url).port), '127.0.0.1');
    await once(idle, 'connect');
    const idleClosed = once(idle, 'close');
    let giveUp: NodeJS.Timeout | undefined;
    await Promise.race([
      plane.close(),
      new Promise((_, fail) => (giveUp = setTimeout(() => fail(new Error('the control plane did not close within 60 s: a connection in its handshake held it')), 60_000))),
    ]);
    clearTimeout(giveUp);
    await idleClosed;
    for (const dp of dps) {
      assert.equal(await status(dp, ALICE), 200);
      assert.equal(await status(dp, BOB), 200);
    }
    const lines = new Lines();
    await dps[0]!.shutdown();
    dps[0] = await DataPlane.start({ configFile: join(dir, 'dp1.yaml'), logDestination: lines, env: { ...process.env } });
    assert.ok(lines.has('fleet: started from the last good config version on disk'));
    assert.equal(await status(dps[0], ALICE), 200);
    assert.equal(await status(dps[0], 'no-such-key-000000000000'), 401);
    await until('it notices the control plane is away', () => lines.has('fleet: control plane unreachable or refusing; the running config keeps serving'));
    assert.equal(await status(dps[0], BOB), 200);
  });
});
