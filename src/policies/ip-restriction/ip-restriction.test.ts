import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DynamicDenyList } from '../../defense/deny-list.js';
import { send, startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';
import { DenyListFullError } from '../../errors.js';

describe('dynamic deny list', () => {
  it('denies addresses and networks until their TTL runs out, IPv4 and IPv6 alike', () => {
    let now = 1_000_000;
    const list = new DynamicDenyList({ now: () => now });
    list.add('198.51.100.7', 60_000, 'brute force');
    list.add('2001:db8:0:0::/48', 30_000);
    list.add('203.0.113.0/24');
    assert.equal(list.has('198.51.100.7'), true);
    assert.equal(list.has('::ffff:198.51.100.7'), true, 'the IPv4-mapped form is the same address');
    assert.equal(list.has('2001:db8:0:ffff::1'), true);
    assert.equal(list.has('2001:0db8:0000:0000:0000:0000:0000:0001'), true, 'any spelling of an IPv6 address');
    assert.equal(list.has('2001:db9::1'), false);
    assert.equal(list.has('203.0.113.250'), true);
    now += 30_001;
    assert.equal(list.has('2001:db8::1'), false, 'the /48 expired');
    assert.equal(list.has('198.51.100.7'), true);
    now += 30_000;
    assert.equal(list.has('198.51.100.7'), false, 'the address expired');
    assert.equal(list.has('203.0.113.1'), true, 'an entry without TTL stays');
    assert.equal(list.remove('203.0.113.0/24'), true);
    assert.equal(list.has('203.0.113.1'), false);
    assert.deepEqual(list.entries(), []);
  });

  it('refuses garbage and stays bounded', () => {
    const list = new DynamicDenyList({ maxEntries: 2 });
    assert.throws(() => list.add('not-an-ip'), /not an IP address/);
    assert.throws(() => list.add('10.0.0.0/33'), /invalid prefix/);
    assert.throws(() => list.add('10.0.0.1', -5), /positive/);
    assert.equal(list.has('garbage'), false);
    list.add('10.0.0.1');
    list.add('10.0.0.2');
    assert.throws(() => list.add('10.0.0.3'), DenyListFullError);
    list.add('10.0.0.2', 1000); // replacing an entry is not growth
  });
});

describe('ip-restriction through the gateway', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
gateway: { trusted_proxies: [127.0.0.1/32] }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: internal
    service: echo
    public: true
    match: { paths: [/internal] }
    policies:
      - ip-restriction: { allow: [10.0.0.0/8, "2001:db8::/32"], deny: [10.66.0.0/16] }
  - name: open
    service: echo
    public: true
    match: { paths: [/open] }
    policies: [{ ip-restriction: {} }]
`);
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

  it('allows listed networks and refuses the rest, on the address behind a trusted proxy', async () => {
    assert.equal((await send(gw.url, '/internal', from('10.1.2.3'))).status, 200);
    assert.equal((await send(gw.url, '/internal', from('2001:db8:abcd::7'))).status, 200);
    const outside = await send(gw.url, '/internal', from('203.0.113.9'));
    assert.equal(outside.status, 403);
    assert.equal(outside.json().error.code, 'ip_forbidden');
    assert.equal((await send(gw.url, '/internal', from('2001:db9::1'))).status, 403);
  });

  it('lets deny win over allow', async () => {
    assert.equal((await send(gw.url, '/internal', from('10.66.1.1'))).status, 403);
  });

  it('refuses addresses the gateway adds to its dynamic deny list at run time, and lets them back after removal', async () => {
    assert.equal((await send(gw.url, '/open', from('198.51.100.23'))).status, 200);
    gw.gateway.denyList.add('198.51.100.0/24', 60_000, 'test');
    const refused = await send(gw.url, '/open', from('198.51.100.23'));
    assert.equal(refused.status, 403);
    const log = await gw.waitForLog((l) => l.type === 'access' && l.request_id === refused.headers['x-request-id']);
    assert.deepEqual(log.events, ['blocked:ip.dynamically_denied']);
    gw.gateway.denyList.remove('198.51.100.0/24');
    assert.equal((await send(gw.url, '/open', from('198.51.100.23'))).status, 200);
  });

  it('keeps the dynamic list across a reload', async () => {
    gw.gateway.denyList.add('192.0.2.44', 60_000);
    const result = await gw.reload((await import('node:fs')).readFileSync(gw.configFile, 'utf8'));
    assert.equal(result.ok, true);
    assert.equal((await send(gw.url, '/open', from('192.0.2.44'))).status, 403);
    gw.gateway.denyList.remove('192.0.2.44');
  });

  it('refuses a bad CIDR at load with its path', async () => {
    await assert.rejects(
      startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: echo, targets: [{ url: "${upstream.url}" }] }]
routes: [{ name: r, service: echo, public: true, policies: [{ ip-restriction: { allow: ["10.0.0.0/40"] } }] }]
`),
      /routes\[0\]\.policies\[0\]\.ip-restriction\.allow\[0\]: expected an IP address or CIDR block/,
    );
  });
});
