/**
 * Automatic defense on one gateway (memory store, real sockets): monitor
 * mode acts on nothing but records what it would have done; each action
 * kind as a client sees it; every action an audit record that verifies;
 * `portcullis defense list|ban|lift`; an email notification through a real
 * SMTP receiver (smtp-server, on loopback without TLS, so the notifier is
 * told require_tls: false); a ratio on a route; the admin API's roles on the
 * actions (a viewer lists, an operator bans and lifts);
 * and a bad defense section refused with file:line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { cli } from '../helpers/cli.js';
import { adminSection, TOKENS } from '../helpers/admin-api.js';
import type { TelemetryEvent } from '../../src/telemetry/event.js';

const TOKEN = TOKENS.operator;
const ACTIONS = '/api/v1/defense/actions';
const KEY = 'alice-key-0123456789';
const BOB_KEY = 'bob-key-0123456789abc';

const config = (upstream: string, smtpPort: number, dir: string) => `
gateway: { access_log: false, trusted_proxies: [127.0.0.1/32] }
listeners: [{ name: main, address: "127.0.0.1:0" }]
${adminSection()}services: [{ name: api, targets: [{ url: "${upstream}" }] }]
consumers:
  - { name: alice, credentials: { key-auth: [{ id: alice-key, key: "${KEY}" }] } }
  - { name: monitor-bot, credentials: { key-auth: [{ id: bob-key, key: "${BOB_KEY}" }] } }
routes:
  - name: api
    service: api
    match: { paths: [/api] }
    policies: [ { key-auth: {} } ]
  - name: flaky
    service: api
    match: { paths: [/flaky] }
    policies: [ { key-auth: {} } ]
telemetry:
  audit: { file: audit/trail.jsonl, key: "\${file:audit.key}" }
  events:
    sinks:
      - { name: siem, kind: file, format: cef, path: ${join(dir, 'events.cef')}, batch: { interval: 20ms } }
defense:
  allowlist: { consumers: [monitor-bot] }
  detections:
    - name: watch-only
      mode: monitor
      match: { events: [auth.invalid_credentials] }
      key: ip
      threshold: { count: 3, window: 1m }
      playbook: block-and-mail
    - name: failing-route
      match: { statuses: [401], routes: [flaky] }
      key: route
      ratio: { above: 0.5, min_requests: 10, window: 1m }
      playbook: mail-only
  playbooks:
    - name: block-and-mail
      actions: [ { block: { duration: 10m } }, { notify: { email: oncall } } ]
    - name: mail-only
      actions: [ { notify: { email: oncall } } ]
  notifiers:
    email:
      - { name: oncall, smtp: "smtp://127.0.0.1:${smtpPort}", require_tls: false, from: "gateway@example.com", to: ["oncall@example.com"], timeout: 5s }
`;

interface Line {
  kind: string;
  action?: string;
  type?: string;
  scope?: string;
  target?: string;
  by?: string;
}

describe('automatic defense on one gateway', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let smtp: SMTPServer;
  let dir: string;
  const mails: string[] = [];
  const events: TelemetryEvent[] = [];
  const env = () => ({ ...process.env, PORTCULLIS_ADMIN_TOKEN: TOKEN, PORTCULLIS_ADMIN_URL: gw.gateway.admin.url! });
  const admin = (path: string, init: { method?: string; body?: unknown; token?: string | null } = {}) =>
    send(gw.gateway.admin.url!, path, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.token === null ? {} : { authorization: `Bearer ${init.token ?? TOKEN}` }),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  const call = (ip: string, key: string, path = '/api') => send(gw.url, path, { headers: { 'x-forwarded-for': ip, 'x-api-key': key } });
  const auditLines = () =>
    readFileSync(join(dir, 'audit', 'trail.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line)
      .filter((l) => l.kind === 'defense');
  const eventually = async (what: string, check: () => boolean | Promise<boolean>, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    upstream = await startUpstream();
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, done) {
        let text = '';
        stream.on('data', (d: Buffer) => (text += d.toString()));
        stream.on('end', () => {
          mails.push(text);
          done();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const smtpPort = (smtp.server.address() as { port: number }).port;
    dir = mkdtempSync(join(tmpdir(), 'portcullis-defense-'));
    const keygen = await cli(['audit', 'keygen', join(dir, 'audit.key')]);
    assert.equal(keygen.code, 0, keygen.stderr);
    gw = await startGateway(config(upstream.url, smtpPort, dir), { dir });
    gw.gateway.telemetry.events.subscribe((e) => events.push(e));
  });

  after(async () => {
    await gw?.close();
    await new Promise<void>((resolve) => smtp?.close(() => resolve()));
    await upstream?.close();
  });

  it('monitor mode records what it would have done and acts on nothing', async () => {
    const ip = '203.0.113.60';
    for (let i = 0; i < 6; i++) assert.equal((await call(ip, `wrong-${i}`)).status, 401);
    await eventually('the would-be action recorded', () => events.some((e) => e.type === 'defense.action' && e.action === 'monitored'));
    const detected = events.find((e) => e.type === 'defense.detected')!;
    assert.equal(detected.action, 'monitored');
    assert.equal(detected.details?.key, ip);
    const would = events.find((e) => e.type === 'defense.action')!;
    assert.deepEqual([would.details?.kind, would.details?.target], ['block', ip]);
    assert.equal((await call(ip, KEY)).status, 200, 'the address is not blocked');
    assert.deepEqual((await admin(ACTIONS)).json<{ actions: unknown[] }>().actions, []);
    assert.ok(auditLines().some((l) => l.action === 'defense.monitor' && l.target === ip));
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!mails.some((m) => m.includes('watch-only')), 'monitor mode sends nothing');
  });

  it('a ratio on a route: most requests of /flaky refused sends the email notification', async () => {
    for (let i = 0; i < 12; i++) await call(`198.18.5.${i}`, 'nope', '/flaky');
    await call('198.18.5.200', KEY, '/flaky');
    await eventually('the mail received', () => mails.some((m) => m.includes('failing-route')), 15_000);
    const mail = mails.find((m) => m.includes('failing-route'))!;
    assert.match(mail, /To: oncall@example\.com/i);
    assert.match(mail, /Subject: \[portcullis\] acted: failing-route on route flaky/);
  });

  it('an operator suspends a consumer, requires a retry later of an address, and lifts them; each is audited', async () => {
    const suspended = await admin(ACTIONS, { method: 'POST', body: { kind: 'suspend', scope: 'consumer', target: 'alice', duration: '10m', reason: 'rotating' } });
    assert.equal(suspended.status, 201, suspended.text);
    const refused = await call('192.0.2.50', KEY);
    assert.equal(refused.status, 403);
    assert.equal(refused.json<{ error: { code: string } }>().error.code, 'access_suspended');
    assert.equal((await call('192.0.2.50', BOB_KEY)).status, 200, 'another consumer passes');

    const later = await admin(ACTIONS, { method: 'POST', body: { kind: 'require', policy: 'retry_later', target: '192.0.2.51', duration: '2m' } });
    assert.equal(later.status, 201, later.text);
    const slowed = await call('192.0.2.51', BOB_KEY);
    assert.equal(slowed.status, 429);
    assert.ok(Number(slowed.headers['retry-after']) > 100);

    const { id } = suspended.json<{ action: { id: string } }>().action;
    assert.equal((await admin(`${ACTIONS}/${id}`, { method: 'DELETE' })).status, 200);
    assert.equal((await call('192.0.2.50', KEY)).status, 200);
    assert.equal((await admin(`${ACTIONS}?target=192.0.2.51`, { method: 'DELETE' })).status, 200);
    assert.equal((await call('192.0.2.51', BOB_KEY)).status, 200);

    const audit = auditLines();
    assert.ok(audit.some((l) => l.action === 'defense.add' && l.type === 'suspend' && l.target === 'alice' && l.by === 'admin olly from 127.0.0.1'));
    assert.ok(audit.some((l) => l.action === 'defense.lift' && l.target === 'alice'));
    assert.ok(audit.some((l) => l.action === 'defense.lift' && l.target === '192.0.2.51'));
    assert.ok(events.some((e) => e.type === 'defense.lifted' && e.reason === 'lifted'));
    const verify = await cli(['audit', 'verify', join(dir, 'audit', 'trail.jsonl'), '--key', join(dir, 'audit.key.pub')]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  it('an address required to show a client certificate is refused without one', async () => {
    const added = await admin(ACTIONS, { method: 'POST', body: { kind: 'require', policy: 'mtls', target: '192.0.2.52', duration: '2m' } });
    assert.equal(added.status, 201, added.text);
    const refused = await call('192.0.2.52', BOB_KEY);
    assert.equal(refused.status, 403);
    assert.equal(refused.json<{ error: { code: string } }>().error.code, 'client_certificate_required');
    assert.equal((await call('192.0.2.53', BOB_KEY)).status, 200);
    assert.equal((await admin(`${ACTIONS}?target=192.0.2.52`, { method: 'DELETE' })).status, 200);
  });

  it('every action reaches the event sinks (a CEF file here, as a SIEM reads it)', async () => {
    await eventually('defense events in the CEF file', () => {
      try {
        const text = readFileSync(join(dir, 'events.cef'), 'utf8');
        return /CEF:0\|[^\n]*defense\.action/.test(text) && /defense\.lifted/.test(text);
      } catch {
        return false;
      }
    });
  });

  it('an allowlisted consumer cannot be suspended', async () => {
    const refused = await admin(ACTIONS, { method: 'POST', body: { kind: 'suspend', scope: 'consumer', target: 'monitor-bot', duration: '10m' } });
    assert.equal(refused.status, 409);
  });

  it('portcullis defense ban, list and lift go through the admin API', async () => {
    const ban = await cli(['defense', 'ban', '203.0.113.0/24', '--duration', '5m', '--reason', 'from the CLI'], { env: env() });
    assert.equal(ban.code, 0, ban.stderr);
    assert.match(ban.stdout, /block ip 203\.0\.113\.0\/24/);
    assert.equal((await call('203.0.113.77', KEY)).status, 403);
    const list = await cli(['defense', 'list', '--token-env', 'OPS_TOKEN'], { env: { ...env(), PORTCULLIS_ADMIN_TOKEN: '', OPS_TOKEN: TOKENS.viewer } });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /203\.0\.113\.0\/24 .*from the CLI/);
    const lift = await cli(['defense', 'lift', '203.0.113.0/24'], { env: env() });
    assert.equal(lift.code, 0, lift.stderr);
    assert.match(lift.stdout, /^lifted /);
    assert.equal((await call('203.0.113.77', KEY)).status, 200);
    const noToken = await cli(['defense', 'list'], { env: { ...env(), PORTCULLIS_ADMIN_TOKEN: '' } });
    assert.equal(noToken.code, 2);
    const wrong = await cli(['defense', 'list'], { env: { ...env(), PORTCULLIS_ADMIN_TOKEN: 'wrong-token' } });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /401/);
  });

  it('a viewer token lists but cannot ban or lift (403); an operator can; no token is a 401', async () => {
    const viewer = TOKENS.viewer;
    assert.equal((await admin(ACTIONS, { token: viewer })).status, 200);
    const banned = await admin(ACTIONS, { method: 'POST', token: viewer, body: { target: '192.0.2.70' } });
    assert.equal(banned.status, 403, banned.text);
    assert.match(banned.json<{ message: string }>().message, /may not write defense/);
    assert.equal((await call('192.0.2.70', KEY)).status, 200, 'nothing was banned');

    const added = await admin(ACTIONS, { method: 'POST', body: { target: '192.0.2.70', reason: 'operator' } });
    assert.equal(added.status, 201, added.text);
    const { id, by } = added.json<{ action: { id: string; by: string } }>().action;
    assert.equal(by, 'admin olly from 127.0.0.1');
    assert.equal((await call('192.0.2.70', KEY)).status, 403);
    assert.equal((await admin(`${ACTIONS}/${id}`, { method: 'DELETE', token: viewer })).status, 403);
    assert.equal((await admin(`${ACTIONS}?target=192.0.2.70`, { method: 'DELETE', token: viewer })).status, 403);
    assert.equal((await call('192.0.2.70', KEY)).status, 403, 'still blocked');
    const lifted = await admin(`${ACTIONS}/${id}`, { method: 'DELETE' });
    assert.equal(lifted.status, 200, lifted.text);
    assert.equal((await call('192.0.2.70', KEY)).status, 200);
    assert.equal((await admin(`${ACTIONS}/${id}`, { method: 'DELETE' })).status, 404, 'lifted already');

    const cliBan = await cli(['defense', 'ban', '192.0.2.71'], { env: { ...env(), PORTCULLIS_ADMIN_TOKEN: viewer } });
    assert.equal(cliBan.code, 1);
    assert.match(cliBan.stderr, /403 role "viewer" may not write defense/);

    assert.equal((await admin(ACTIONS, { token: null })).status, 401);
    assert.equal((await admin(ACTIONS, { token: 'not-it' })).status, 401);
    assert.equal((await admin(ACTIONS, { method: 'POST', token: 'not-it', body: { target: '192.0.2.1' } })).status, 401);
  });

  it('a ban with a field of the wrong type or an unknown one is refused (400), nothing added', async () => {
    const before = (await admin(ACTIONS)).json<{ actions: unknown[] }>().actions.length;
    assert.equal((await admin(ACTIONS, { method: 'POST', body: { target: 7 } })).status, 400);
    assert.equal((await admin(ACTIONS, { method: 'POST', body: { target: '192.0.2.72', duration: 60 } })).status, 400);
    assert.equal((await admin(ACTIONS, { method: 'POST', body: { target: '192.0.2.72', until: 'forever' } })).status, 400);
    assert.equal((await admin(ACTIONS, { method: 'POST', body: { target: '192.0.2.72', duration: '90d' } })).status, 400);
    assert.equal((await admin(ACTIONS, { method: 'DELETE' })).status, 400);
    assert.equal((await admin(ACTIONS)).json<{ actions: unknown[] }>().actions.length, before);
  });

  it('a defense section that names a missing playbook is refused with file and line', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'portcullis-defense-bad-')), 'gateway.yaml');
    writeFileSync(
      file,
      `listeners: [{ name: main, address: "127.0.0.1:0" }]
defense:
  detections:
    - name: brute
      match: { events: [auth.invalid_credentials] }
      key: ip
      threshold: { count: 5, window: 1m }
      playbook: nowhere
  playbooks:
    - name: block-ip
      actions: [ { block: { duration: 40d } } ]
`,
    );
    const result = await cli(['validate', file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /gateway\.yaml:8: defense\.detections\[0\]\.playbook: no playbook "nowhere"/);
    assert.match(result.stderr, /gateway\.yaml:11: defense\.playbooks\[0\]\.actions\[0\]\.block\.duration: must be between/);
  });

  it('a detection keyed by route may only notify: it knows no attacker, and would block whoever sent the crossing request', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'portcullis-defense-route-')), 'gateway.yaml');
    writeFileSync(
      file,
      `listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, public: true }]
defense:
  detections:
    - name: failing
      match: { statuses: [401], routes: [r] }
      key: route
      threshold: { count: 5, window: 1m }
      playbook: block-ip
  playbooks:
    - name: block-ip
      actions: [ { block: { duration: 10m } } ]
`,
    );
    const result = await cli(['validate', file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /gateway\.yaml:8: defense\.detections\[0\]\.key: keyed by route, a detection knows no attacker: playbook "block-ip" may only notify/);
  });

  it('refuses an IPv6 ban that reaches into IPv4-mapped addresses (it would block all of IPv4 past the /8 rule)', async () => {
    for (const target of ['::ffff:0:0/96', '::/16', '::ffff:203.0.113.0/120']) {
      const res = await admin(ACTIONS, { method: 'POST', body: { target, duration: '1m' } });
      assert.equal(res.status, 400, `${target}: ${res.text}`);
    }
    assert.equal((await call('8.8.8.8', KEY)).status, 200, 'IPv4 clients still pass');
    const v6 = await admin(ACTIONS, { method: 'POST', body: { target: '2001:db8::/32', duration: '1m' } });
    assert.equal(v6.status, 201, 'a plain IPv6 network is still a ban');
    assert.equal((await admin(`${ACTIONS}/${v6.json<{ action: { id: string } }>().action.id}`, { method: 'DELETE' })).status, 200);
  });
});
