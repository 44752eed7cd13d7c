/**
 * A reload that hands a port between the admin listener and a listener (the
 * admin listener moving onto a listener's port while the listener moves
 * away, or the other way round) cannot be done in one swap: the admin
 * listener lets go of its port only after the listeners have swapped, and a
 * retired listener only when the reload is done. It is refused before
 * anything changes, at the address in the file, saying what to do; before
 * (red team, session 8) it failed mid-swap as "another process listens
 * there" or at path "listeners", line 0. Also: an address the gateway holds,
 * spelled another way (`[::ffff:127.0.0.1]` for `127.0.0.1`), is the same
 * address, not another process's. Real sockets throughout.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

describe('a reload handing a port between the admin listener and a listener', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let admin: number;
  let main: number;
  let other: number;
  const config = (version: string, listener: number, adminPort: number | undefined) => `
${adminPort === undefined ? '' : `admin: { address: "127.0.0.1:${adminPort}" }`}
listeners:
  - { name: main, address: "127.0.0.1:${listener}" }
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: open
    service: s
    public: true
    match: { paths: [/] }
    policies:
      - headers: { response: { set: { x-config: "${version}" } } }
`;

  before(async () => {
    upstream = await startUpstream();
    [admin, main, other] = [await freePort(), await freePort(), await freePort()];
    gw = await startGateway(config('one', main, admin));
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  async function stillServing(): Promise<void> {
    const res = await send(`http://127.0.0.1:${main}`, '/');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-config'], 'one');
    assert.equal(gw.gateway.admin.url, `http://127.0.0.1:${admin}`);
    assert.equal(gw.gateway.snapshot.version, 1);
  }

  it('refuses the admin listener taking the port of a listener that moves away, at admin.address', async () => {
    const result = await gw.reload(config('two', other, main));
    assert.equal(result.ok, false);
    assert.equal(result.issues.length, 1);
    assert.equal(result.issues[0]!.path, 'admin.address');
    assert.equal(result.issues[0]!.line, 2);
    assert.match(result.issues[0]!.message, /cannot take port \d+ from a listener in the same reload/);
    await stillServing();
  });

  it('refuses a listener taking the port of the admin listener that moves away or goes, at the listener\'s address', async () => {
    for (const next of [other, undefined]) {
      const result = await gw.reload(config('two', admin, next));
      assert.equal(result.ok, false);
      assert.equal(result.issues[0]!.path, 'listeners[0].address');
      assert.match(result.issues[0]!.message, /listener "main" cannot take port \d+ from the admin listener in the same reload/);
      assert.doesNotMatch(result.issues[0]!.message, /another process/);
      await stillServing();
    }
  });

  it('does it in two reloads, as the message says', async () => {
    assert.equal((await gw.reload(config('two', main, other))).ok, true);
    const moved = await gw.reload(config('three', admin, other));
    assert.equal(moved.ok, true, JSON.stringify(moved));
    const res = await send(`http://127.0.0.1:${admin}`, '/');
    assert.equal(res.headers['x-config'], 'three');
  });
});

describe('a reload naming an address the gateway holds in another spelling', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let port: number;
  const config = (version: string, host: string) => `
listeners:
  - { name: main, address: "${host}:${port}" }
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes:
  - { name: open, service: s, public: true, match: { paths: [/] }, policies: [ { headers: { response: { set: { x-config: "${version}" } } } } ] }
`;
  before(async () => {
    upstream = await startUpstream();
    port = await freePort();
    gw = await startGateway(config('one', '127.0.0.1'));
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('moves a listener to the IPv4-mapped spelling of its own address (it was refused: "another process listens there")', async () => {
    const result = await gw.reload(config('two', '[::ffff:127.0.0.1]'));
    assert.equal(result.ok, true, JSON.stringify(result));
    const res = await send(`http://127.0.0.1:${port}`, '/');
    assert.equal(res.headers['x-config'], 'two');
  });
});
