/**
 * Sinks in a running gateway: a waf monitor hit reaches a Splunk HEC receiver
 * as an event and an ECS access record reaches a file, while the stdout access
 * line stays as it was; a reload with an unreadable CA file is refused;
 * records spooled while the receiver is down at shutdown are delivered after
 * the next start.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCollector, type Collector } from '../helpers/collector.js';
import { send, startGateway } from '../helpers/gateway.js';
import { echo, startUpstream, type TestUpstream } from '../helpers/upstream.js';

const SQLI = "/items?id=1'%20OR%20'1'='1";

async function until(check: () => boolean, what: () => string, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('event and access sinks in the gateway', () => {
  let upstream: TestUpstream;
  let hec: Collector;
  let dir: string;

  before(async () => {
    upstream = await startUpstream(echo);
    hec = await startCollector('splunk-hec', 'tok-1');
    dir = mkdtempSync(join(tmpdir(), 'portcullis-sinks-e2e-'));
  });
  after(async () => {
    await hec.close();
    await upstream.close();
  });

  const config = (options: { hecUrl?: string; token?: string; ca?: string; stdoutAccess?: boolean } = {}) => `
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: items
    service: s
    public: true
    match: { paths: [/items] }
    policies:
      - waf: { mode: monitor }
telemetry:
  node_id: gw-test
  events:
    sinks:
      - name: splunk
        kind: http
        preset: splunk-hec
        url: ${options.hecUrl ?? hec.url}/services/collector/event
        token: ${options.token ?? 'tok-1'}
        batch: { interval: 20ms }
        retry: { initial: 20ms, max: 100ms }
        spool: { dir: ${join(dir, 'spool')} }
        ${options.ca ? `ca: ${options.ca}` : ''}
  access_log:
    sinks:
      ${options.stdoutAccess === false ? '' : '- kind: stdout'}
      - { name: access-file, kind: file, format: ecs, path: ${join(dir, 'access.log')}, batch: { interval: 20ms } }
`;

  it('sends the waf monitor hit to HEC and an ECS access record to a file; the stdout access line is unchanged', async () => {
    const gw = await startGateway(config());
    try {
      const res = await send(gw.url, SQLI);
      assert.equal(res.status, 200, 'monitor mode lets it through');
      const requestId = res.headers['x-request-id'] as string;
      await until(() => hec.records.some((r) => r.event.request?.id === requestId), () => JSON.stringify(hec.records));
      const event = hec.records.find((r) => r.event.request?.id === requestId)!;
      assert.equal(event.host, 'gw-test');
      assert.equal(event.event.action, 'monitored');
      assert.match(event.event.type as string, /^waf\./);
      assert.equal(event.event.request.path, '/items');
      const line = await gw.waitForLog((l) => l.type === 'access' && l.request_id === requestId);
      assert.deepEqual(line.events, [`monitored:${event.event.type}`]);
      const file = join(dir, 'access.log');
      await until(() => existsSync(file) && readFileSync(file, 'utf8').includes(requestId), () => (existsSync(file) ? readFileSync(file, 'utf8') : 'no file'));
      const doc = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as any).find((d) => d.http.request.id === requestId);
      assert.equal(doc.url.path, '/items');
      assert.equal(doc.http.response.status_code, 200);
      assert.equal(doc.observer.name, 'gw-test');
      assert.deepEqual(doc.portcullis.events, [`monitored:${event.event.type}`]);
      const status = gw.gateway.telemetry.sinkStatus();
      assert.ok(status.some((s) => s.name === 'splunk' && s.stream === 'events' && s.sent >= 1));
      assert.ok(status.some((s) => s.name === 'access-file' && s.stream === 'access'));

      // A reload naming a CA file that cannot be read is refused; the sinks keep running.
      const refused = await gw.reload(config({ hecUrl: 'https://127.0.0.1:9', ca: join(dir, 'missing-ca.pem') }));
      assert.equal(refused.ok, false);
      if (!refused.ok) assert.match(refused.issues[0]!.message, /telemetry\.events\.sinks\[0\]\.ca: cannot read .*missing-ca\.pem: ENOENT/);
      // Without the stdout sink, no access line is written; the file still gets its records.
      assert.deepEqual(await gw.reload(config({ stdoutAccess: false })), { ok: true, version: 2 });
      const quiet = await send(gw.url, '/items/quiet');
      const quietId = quiet.headers['x-request-id'] as string;
      await until(() => readFileSync(file, 'utf8').includes(quietId), () => 'the file record');
      assert.equal(gw.accessLogs().some((l) => l.request_id === quietId), false);
    } finally {
      await gw.close();
    }
  });

  it('keeps events spooled when the receiver is down at shutdown, and delivers them after the next start', async () => {
    const down = await startCollector('splunk-hec', 'tok-1');
    const downUrl = down.url;
    await down.close(); // nothing listens there now
    const first = await startGateway(config({ hecUrl: downUrl }));
    const ids: string[] = [];
    try {
      for (let i = 0; i < 3; i++) ids.push((await send(first.url, SQLI)).headers['x-request-id'] as string);
      await until(() => first.gateway.telemetry.sinkStatus().find((s) => s.name === 'splunk')!.failures > 0, () => JSON.stringify(first.gateway.telemetry.sinkStatus()));
    } finally {
      await first.close();
    }
    // The next start, with the receiver back (the collector of the first test, on its own port).
    const second = await startGateway(config());
    try {
      await until(() => ids.every((id) => hec.records.some((r) => r.event.request?.id === id)), () => `${hec.records.length} records`);
      const seen = hec.records.map((r) => r.event.request?.id as string).filter((id) => ids.includes(id));
      assert.deepEqual(seen, ids, 'once each, in order');
      assert.ok(second.logs.some((l) => /records from an earlier run wait in the spool/.test(l.msg)));
    } finally {
      await second.close();
    }
  });
});
