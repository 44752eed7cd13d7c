/**
 * The check before a reload swaps listeners (listen-check.ts, net/bind-check.ts),
 * on real sockets: a port held by a server of this test, an address no
 * interface has, two listeners of one config on one port, and, in a node of
 * workers, a listener moved to another host on a port the node holds.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { parseDocument } from 'yaml';
import type { Config } from '../config/schema.js';
import { overlaps, tryBind } from '../net/bind-check.js';
import { freePort } from '../../test/helpers/redis.js';
import { listenIssues } from './listen-check.js';

function source(text: string) {
  return { config: parseDocument(text).toJS() as Pick<Config, 'listeners' | 'admin'>, source: { file: 'gateway.yaml', text, baseDir: '.' } };
}

describe('the listen check before a reload', () => {
  let busy: Server;
  let port: number;

  before(async () => {
    busy = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    port = (busy.address() as { port: number }).port;
  });
  after(() => new Promise((resolve) => busy.close(resolve)));

  it('tells apart addresses that take the same port', () => {
    assert.equal(overlaps({ host: '127.0.0.1', port: 80 }, { host: '127.0.0.1', port: 80 }), true);
    assert.equal(overlaps({ host: '0.0.0.0', port: 80 }, { host: '127.0.0.1', port: 80 }), true);
    assert.equal(overlaps({ host: '127.0.0.1', port: 80 }, { host: '::', port: 80 }), true);
    assert.equal(overlaps({ host: '127.0.0.1', port: 80 }, { host: '127.0.0.2', port: 80 }), false);
    assert.equal(overlaps({ host: '127.0.0.1', port: 80 }, { host: '127.0.0.1', port: 81 }), false);
    assert.equal(overlaps({ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0 }), false, 'port 0 is any free port');
    // other spellings of one address (red team, session 8)
    assert.equal(overlaps({ host: '::ffff:127.0.0.1', port: 80 }, { host: '127.0.0.1', port: 80 }), true);
    assert.equal(overlaps({ host: '0:0:0:0:0:FFFF:127.0.0.1', port: 80 }, { host: '127.0.0.1', port: 80 }), true);
    assert.equal(overlaps({ host: '::0', port: 80 }, { host: '127.0.0.1', port: 80 }), true);
    assert.equal(overlaps({ host: '0:0::0', port: 80 }, { host: '::1', port: 80 }), true);
    assert.equal(overlaps({ host: '::ffff:7f00:1', port: 80 }, { host: '127.0.0.1', port: 80 }), true);
    assert.equal(overlaps({ host: '::ffff:127.0.0.2', port: 80 }, { host: '127.0.0.1', port: 80 }), false);
    assert.equal(overlaps({ host: '::1', port: 80 }, { host: '127.0.0.1', port: 80 }), false);
  });

  it('tries an address and lets it go: the system\'s error when it cannot', async () => {
    assert.equal((await tryBind({ host: '127.0.0.1', port }))?.code, 'EADDRINUSE');
    assert.equal((await tryBind({ host: '192.0.2.1', port: 0 }))?.code, 'EADDRNOTAVAIL');
    assert.equal(await tryBind({ host: '127.0.0.1', port: 0 }), undefined);
  });

  it('names each listener that cannot open, at its address in the file; an address held now is not tried', async () => {
    const { config, source: text } = source(`admin: { address: "127.0.0.1:${port}" }
listeners:
  - name: a
    address: "127.0.0.1:${port}"
  - { name: b, address: "127.0.0.1:0" }
  - { name: c, address: "127.0.0.1:0" }
`);
    const issues = await listenIssues(config, text, { held: [] });
    assert.deepEqual(
      issues.map((i) => `${i.file}:${i.line}: ${i.path}: ${i.message}`),
      [
        `gateway.yaml:4: listeners[0].address: listener "a" cannot listen on 127.0.0.1:${port}: the address is already in use (another process listens there) (EADDRINUSE)`,
        `gateway.yaml:1: admin.address: the admin listener cannot listen on 127.0.0.1:${port}: listener "a" (listeners[0].address) listens on 127.0.0.1:${port}`,
      ].sort((x, y) => Number(x.split(':')[1]) - Number(y.split(':')[1])),
    );
    // Held by the gateway itself: it lets go of it when it swaps, so it is not tried.
    const held = await listenIssues({ listeners: config.listeners }, text, { held: [{ host: '127.0.0.1', port }] });
    assert.deepEqual(held, []);
  });

  it('in a node of workers, refuses a listener moved to another host on a port the node holds', async () => {
    const { config, source: text } = source(`listeners: [{ name: a, address: "0.0.0.0:${port}" }]\n`);
    const issues = await listenIssues(config, text, { held: [{ host: '127.0.0.1', port }], shared: true });
    assert.equal(issues.length, 1);
    assert.match(issues[0]!.message, /listener "a" cannot move to 0\.0\.0\.0:\d+ in one reload: the node's workers hold port \d+ on another address/);
    assert.deepEqual(await listenIssues(config, text, { held: [{ host: '0.0.0.0', port }], shared: true }), [], 'the same address: each worker reopens it on the node\'s socket');
  });

  it('refuses a port handed between the admin listener and a listener in one reload (one process or a node), and reads spellings alike', async () => {
    // l and a are held (not tried); free is tried, so it must be free
    const [l, a, free] = [{ host: '127.0.0.1', port: port + 1 }, { host: '127.0.0.1', port: port + 2 }, await freePort()];
    const onto = source(`admin: { address: "127.0.0.1:${free}" }\nlisteners: [{ name: m, address: "[::ffff:127.0.0.1]:${a.port}" }]\n`);
    for (const shared of [false, true]) {
      const issues = await listenIssues(onto.config, onto.source, { held: [l, a], admin: a, shared });
      assert.deepEqual(issues.map((i) => `${i.line} ${i.path}`), ['2 listeners[0].address']);
      assert.match(issues[0]!.message, /listener "m" cannot take port \d+ from the admin listener in the same reload/);
    }
    const admin = source(`admin: { address: "0.0.0.0:${l.port}" }\nlisteners: [{ name: m, address: "127.0.0.1:${free}" }]\n`);
    const issues = await listenIssues(admin.config, admin.source, { held: [l, a], admin: a, shared: true });
    assert.deepEqual(issues.map((i) => `${i.line} ${i.path}`), ['1 admin.address']);
    assert.match(issues[0]!.message, /the admin listener cannot take port \d+ from a listener in the same reload/);
    // the admin listener staying where it is, spelled otherwise, is no hand-over
    const stays = source(`admin: { address: "[::ffff:127.0.0.1]:${a.port}" }\nlisteners: [{ name: m, address: "127.0.0.1:${l.port}" }]\n`);
    assert.deepEqual(await listenIssues(stays.config, stays.source, { held: [l, a], admin: a, shared: true }), []);
  });
});
