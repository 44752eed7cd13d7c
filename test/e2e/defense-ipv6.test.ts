/**
 * IPv6 clients are counted and acted on per network (`defense.ipv6_prefix`,
 * /64 by default), IPv4 clients per address. Loopback gives one IPv6 address
 * only, so the client addresses are the legitimate kind a trusted proxy
 * reports: the test client is the proxy (`trusted_proxies: [127.0.0.1/32]`)
 * and writes X-Forwarded-For. Real gateways on real sockets, memory store.
 *
 * Also the attacker's side: forwarding headers from untrusted hops,
 * IPv4-mapped spellings, mixed case and zero compression, and the neighbour
 * a /64 block reaches (ipv6_prefix: 128 and the allowlist are the answers).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { cli } from '../helpers/cli.js';
import { adminSection, TOKENS } from '../helpers/admin-api.js';
import type { TelemetryEvent } from '../../src/telemetry/event.js';

const ACTIONS = '/api/v1/defense/actions';

const config = (upstream: string, extra = '', block = '{ duration: 10m }') => `
gateway: { access_log: false, trusted_proxies: [127.0.0.1/32] }
listeners: [{ name: main, address: "127.0.0.1:0" }]
${adminSection()}services: [{ name: api, targets: [{ url: "${upstream}" }] }]
routes: [{ name: api, service: api, public: true, match: { paths: [/] } }]
telemetry:
  audit: { file: audit/trail.jsonl, key: "\${file:audit.key}" }
defense:
${extra}  allowlist: { cidrs: ["2001:db8:aa:1::10"] }
  detections:
    - name: scanner
      match: { statuses: [404] }
      key: ip
      threshold: { count: 20, window: 1m }
      playbook: block
  playbooks:
    - name: block
      actions: [ { block: ${block} } ]
`;

const eventually = async (what: string, check: () => boolean | Promise<boolean>, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** The i-th address of a /64 (its low 16 bits). */
const host = (net: string, i: number) => `${net}:${(i + 1).toString(16)}`;

describe('automatic defense counts IPv6 clients per /64', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let dir: string;
  const events: TelemetryEvent[] = [];
  const from = (ip: string, path = '/missing') => send(gw.url, path, { headers: { 'x-forwarded-for': ip } });
  const admin = (path: string, init: { method?: string; body?: unknown } = {}) =>
    send(gw.gateway.admin.url!, path, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${TOKENS.operator}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });

  before(async () => {
    // The upstream knows /ok only: everything else is a 404, what the scanner detection counts.
    upstream = await startUpstream((req, res) => {
      res.writeHead(req.url === '/ok' ? 200 : 404).end();
    });
    dir = mkdtempSync(join(tmpdir(), 'portcullis-defense-v6-'));
    const keygen = await cli(['audit', 'keygen', join(dir, 'audit.key')]);
    assert.equal(keygen.code, 0, keygen.stderr);
    gw = await startGateway(config(upstream.url), { dir });
    gw.gateway.telemetry.events.subscribe((e) => events.push(e));
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('200 addresses of one /64 cross the threshold, and the block covers the /64, not its neighbours', async () => {
    const statuses: number[] = [];
    // One try per address, never twice from one: counted per address, none would ever reach 20.
    for (let i = 0; i < 200; i++) statuses.push((await from(host('2001:db8:1:2:0:0:0', i))).status);
    assert.equal(statuses[0], 404);
    assert.ok(statuses.includes(403), `the /64 is blocked before its 200th address: ${statuses.slice(-5).join(',')}`);
    await eventually('the block reaches the whole /64', async () => (await from('2001:db8:1:2:dead:beef:0:1', '/ok')).status === 403);
    // Any spelling of an address of it: upper case, leading zeros, no compression.
    for (const ip of ['2001:DB8:1:2::FFFF', '2001:0db8:0001:0002:0000:0000:0000:0042', '[2001:db8:1:2::7]:443']) assert.equal((await from(ip, '/ok')).status, 403, ip);
    // The neighbouring /64, and IPv4 clients, are someone else.
    assert.equal((await from('2001:db8:1:3::1', '/ok')).status, 200, 'the next /64 passes');
    assert.equal((await from('198.51.100.1', '/ok')).status, 200);

    const detected = events.find((e) => e.type === 'defense.detected');
    assert.equal(detected?.details?.key, '2001:db8:1:2::/64', 'the detection names the /64');
    const action = events.find((e) => e.type === 'defense.action');
    assert.equal(action?.details?.target, '2001:db8:1:2::/64', 'the action names the /64');
    const audit = readFileSync(join(dir, 'audit', 'trail.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; action?: string; target?: string });
    assert.ok(audit.some((l) => l.kind === 'defense' && l.action === 'defense.add' && l.target === '2001:db8:1:2::/64'), 'the audit record names the /64');
    const list = (await admin(ACTIONS)).json() as { actions: Array<{ target: string }> };
    assert.deepEqual(
      list.actions.map((a) => a.target),
      ['2001:db8:1:2::/64'],
      'one block for the /64, however many of its addresses crossed after it',
    );
  });

  it('counts IPv4 per address, whatever the spelling: mapped, hex-mapped and dotted are one client', async () => {
    // 20 failures split over three spellings of one IPv4 address: one key, so they cross.
    const spellings = ['198.51.100.7', '::ffff:198.51.100.7', '::FFFF:c633:6407'];
    for (let i = 0; i < 19; i++) assert.equal((await from(spellings[i % 3]!)).status, 404);
    await from('198.51.100.7');
    await eventually('the IPv4 address is blocked', async () => (await from('198.51.100.7', '/ok')).status === 403);
    for (const ip of spellings) assert.equal((await from(ip, '/ok')).status, 403, ip);
    assert.equal((await from('198.51.100.8', '/ok')).status, 200, 'its neighbour is not: IPv4 is per address');
  });

  it('believes no forwarded address an untrusted hop wrote: a spoofed /64 is neither counted nor blocked', async () => {
    // The rightmost hop (198.51.100.20) is not a trusted proxy: it is the client, and what it claims to forward for is not believed.
    for (let i = 0; i < 25; i++) await from(`${host('2001:db8:9:9:0:0:0', i)}, 198.51.100.20`);
    await eventually('the real sender is blocked', async () => (await from('198.51.100.20', '/ok')).status === 403);
    assert.equal((await from('2001:db8:9:9::1', '/ok')).status, 200, 'the /64 it named is not');
    assert.ok(!events.some((e) => e.type === 'defense.detected' && e.details?.key === '2001:db8:9:9::/64'));
  });

  it('takes no forwarded address with a zone id, and keeps serving (one such value used to end the process)', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await from('2001:db8:9:9::1%:2001:db8:1:2::5', '/ok')).status, 200);
    assert.equal((await from('::ffff:198.51.100.40%eth0', '/ok')).status, 200);
    assert.equal((await from('198.51.100.41', '/ok')).status, 200, 'still serving');
    assert.ok(!events.some((e) => e.type === 'defense.detected' && String(e.details?.key).includes('%')));
  });

  it('lets the allowlist win: a /64 holding an allowlisted address is never blocked', async () => {
    for (let i = 0; i < 25; i++) await from(host('2001:db8:aa:1:0:0:1', i));
    await eventually('the skip recorded', () => events.some((e) => e.type === 'defense.skipped' && e.details?.target === '2001:db8:aa:1::/64' && e.reason === 'allowlisted'));
    assert.equal((await from('2001:db8:aa:1::10', '/ok')).status, 200, 'the allowlisted address');
    assert.equal((await from('2001:db8:aa:1::1:1', '/ok')).status, 200, 'nor its /64: the allowlist is not overridden');
  });

  it('an operator\'s ban, tighten and lift take any spelling of a /64, and one width only for tighten', async () => {
    const ban = await admin(ACTIONS, { method: 'POST', body: { target: '2001:DB8:5:6:0:0:0:99/64', duration: '1m' } });
    assert.equal(ban.status, 201, ban.text);
    assert.equal((ban.json() as { action: { target: string } }).action.target, '2001:db8:5:6::/64', 'stored in one spelling, host bits cleared');
    assert.equal((await from('2001:db8:5:6::1234', '/ok')).status, 403);
    const lifted = await admin(`${ACTIONS}?target=${encodeURIComponent('2001:db8:5:6::77/64')}`, { method: 'DELETE' });
    assert.equal(lifted.status, 200, lifted.text);
    assert.equal((await from('2001:db8:5:6::1234', '/ok')).status, 200, 'lifted by another spelling of the network');

    const tighten = await admin(ACTIONS, { method: 'POST', body: { kind: 'tighten', target: '2001:db8:7:7::/64', limit: 1, per: '1m', duration: '1m' } });
    assert.equal(tighten.status, 201, tighten.text);
    assert.equal((await from('2001:db8:7:7::1', '/ok')).status, 200);
    const second = await from('2001:db8:7:7::2', '/ok');
    assert.equal(second.status, 429, 'the tighter limit is the /64\'s, shared by its addresses');
    assert.ok(Number(second.headers['retry-after']) >= 1);
    const wide = await admin(ACTIONS, { method: 'POST', body: { kind: 'tighten', target: '2001:db8:8::/48', limit: 1, per: '1m', duration: '1m' } });
    assert.equal(wide.status, 400, 'a width the request path never looks up is refused');
  });
});

describe('ipv6_prefix: 128 counts each IPv6 address on its own', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let dir: string;
  before(async () => {
    upstream = await startUpstream((req, res) => {
      res.writeHead(req.url === '/ok' ? 200 : 404).end();
    });
    dir = mkdtempSync(join(tmpdir(), 'portcullis-defense-v6-'));
    const keygen = await cli(['audit', 'keygen', join(dir, 'audit.key')]);
    assert.equal(keygen.code, 0, keygen.stderr);
    // prefix: 24 is an IPv4 width: it widens IPv4 blocks, and leaves IPv6 ones as counted (not a /24 of someone's ISP).
    gw = await startGateway(config(upstream.url, '  ipv6_prefix: 128\n', '{ duration: 10m, prefix: 24 }'), { dir });
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('for a provider that puts many customers in one /64: one address crossing blocks it alone', async () => {
    const from = (ip: string, path = '/missing') => send(gw.url, path, { headers: { 'x-forwarded-for': ip } });
    for (let i = 0; i < 40; i++) assert.equal((await from(host('2001:db8:3:3:0:0:0', i))).status, 404, 'spread over addresses, nothing crosses');
    for (let i = 0; i < 20; i++) await from('2001:db8:3:3::abcd');
    await eventually('the one address is blocked', async () => (await from('2001:db8:3:3::abcd', '/ok')).status === 403);
    assert.equal((await from('2001:db8:3:3::abce', '/ok')).status, 200, 'its neighbour in the /64 is not (block.prefix 24 is no IPv6 width)');
    assert.equal((await from('2001:db8:4::1', '/ok')).status, 200);
  });

  it('block.prefix: 24 widens an IPv4 block to its /24', async () => {
    const from = (ip: string, path = '/missing') => send(gw.url, path, { headers: { 'x-forwarded-for': ip } });
    for (let i = 0; i < 20; i++) await from('198.51.100.9');
    await eventually('the /24 is blocked', async () => (await from('198.51.100.200', '/ok')).status === 403);
    assert.equal((await from('198.51.101.9', '/ok')).status, 200);
  });
});
