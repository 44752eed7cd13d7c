/**
 * Syslog sinks against a real rsyslogd (test/helpers/rsyslog.ts): CEF over
 * TLS with the receiver stopped and restarted mid-traffic, every event
 * arriving exactly once and in order; and UDP datagrams on a real socket.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { makePki, type Pki } from '../../../test/helpers/tls.js';
import { startRsyslog, type Rsyslog } from '../../../test/helpers/rsyslog.js';
import { numberedEvent, sinkKit, until, type Kit } from './test-kit.js';

const ids = (lines: string[]) => lines.map((l) => /externalId=(evt-\d+)/.exec(l)?.[1] ?? `?${l}`);

describe('syslog sinks against a real rsyslogd', () => {
  let pki: Pki;
  let rsyslog: Rsyslog;
  const kits: Kit[] = [];

  before(async () => {
    pki = await makePki();
    const server = await pki.issue('rsyslog', { ips: ['127.0.0.1'], dns: ['localhost'], usage: 'server' });
    rsyslog = await startRsyslog({ tls: { caFile: pki.caFile, certFile: server.cert, keyFile: server.key } });
  });

  after(async () => {
    for (const kit of kits) await kit.sinks.close(0);
    await rsyslog?.stop();
  });

  it('delivers CEF over TLS exactly once and in order while rsyslog is stopped and restarted mid-traffic', async () => {
    const kit = sinkKit();
    kits.push(kit);
    kit.apply({
      events: [
        {
          name: 'siem',
          kind: 'syslog',
          format: 'cef',
          address: `127.0.0.1:${rsyslog.tcpPort}`,
          transport: 'tls',
          ca: pki.caFile,
          spool: { dir: join(kit.dir, 'spool') },
          batch: { max_records: 20, interval: '20ms' },
          retry: { initial: '50ms', max: '250ms' },
          timeout: '10s', // generous: a timeout after the write would send the batch again (a duplicate) on a starved machine
        },
      ],
    });
    const status = () => kit.telemetry.sinkStatus().find((s) => s.name === 'siem')!;
    const total = 600;
    let emitted = 0;
    const emit = (n: number) => {
      for (let i = 0; i < n && emitted < total; i++) kit.telemetry.events.emit(numberedEvent(++emitted));
    };
    // Traffic: a few events every few milliseconds, while the receiver goes away and comes back.
    const traffic = setInterval(() => emit(4), 5);
    try {
      await until(() => rsyslog.lines().length >= 100, () => `${rsyslog.lines().length} lines`);
      await rsyslog.stop();
      await until(() => status().spooled > 0 && status().failures > 0, () => JSON.stringify(status()));
      await until(() => emitted >= 400, () => `${emitted} emitted`);
      await rsyslog.start();
      await until(() => emitted >= total, () => `${emitted} emitted`);
    } finally {
      clearInterval(traffic);
    }
    // A batch rsyslog has written is counted sent once its close is seen, which can come a moment later.
    await until(() => rsyslog.lines().length >= total && status().spooled === 0 && status().sent === total, () => `${rsyslog.lines().length} lines, ${JSON.stringify(status())}`);
    const got = ids(rsyslog.lines());
    const want = Array.from({ length: total }, (_, i) => `evt-${String(i + 1).padStart(6, '0')}`);
    assert.deepEqual(got, want, 'every event once, in order');
    assert.match(rsyslog.lines()[0]!, /^CEF:0\|Portcullis\|Portcullis\|[^|]+\|waf\.sqli\|SQL injection in query:id\|8\|/);
    const s = status();
    assert.equal(s.sent, total);
    assert.equal(s.dropped, 0);
    assert.equal(s.queued, 0);
    assert.match(kit.output(), /sink siem: delivery failed; retrying with backoff, records wait in the spool/);
    assert.match(kit.output(), /sink siem: the receiver is back/);
  });

  it('sends octet-counted RFC 5424 over plain TCP, with the facility, severity and app name in the header', async () => {
    const plain = await startRsyslog({});
    const kit = sinkKit();
    kits.push(kit);
    try {
      kit.apply({ access_log: [{ name: 'tcp', kind: 'syslog', transport: 'tcp', format: 'ocsf', facility: 'local3', app_name: 'gw', address: `127.0.0.1:${plain.tcpPort}`, batch: { interval: '10ms' } }] });
      const ctx = { id: 'req-tcp-1', clientIp: '203.0.113.1', method: 'PATCH', path: '/p', host: 'h', bytesSent: 3, upstreamLatencyMs: -1, startTime: performance.now(), events: undefined };
      kit.accessLog.write(ctx as never, 204, true);
      await until(() => plain.lines().length >= 1, () => 'nothing arrived');
      const ocsf = JSON.parse(plain.lines()[0]!) as { class_uid: number; activity_id: number; activity_name: string; http_request: { uid: string } };
      assert.equal(ocsf.class_uid, 4002);
      assert.equal(ocsf.activity_id, 99);
      assert.equal(ocsf.activity_name, 'PATCH');
      assert.equal(ocsf.http_request.uid, 'req-tcp-1');
      assert.deepEqual(plain.headers(), [`${19 * 8 + 6}|node-1|gw|access`], 'local3, informational; the node as HOSTNAME; MSGID the stream');
    } finally {
      await kit.sinks.close(0);
      await plain.stop();
    }
  });

  it('verifies the receiver\'s certificate by default: an unknown CA fails delivery (kept in memory), verify: false is logged', async () => {
    const kit = sinkKit();
    kits.push(kit);
    const sink = (extra: object) => ({ name: 'strict', kind: 'syslog', format: 'cef', address: `127.0.0.1:${rsyslog.tcpPort}`, batch: { interval: '10ms' }, retry: { initial: '20ms', max: '50ms' }, ...extra });
    kit.apply({ events: [sink({})] }); // no ca: the system roots, which do not know the test CA
    const before = rsyslog.lines().length;
    kit.telemetry.events.emit(numberedEvent(7001));
    const status = () => kit.telemetry.sinkStatus().find((s) => s.name === 'strict')!;
    await until(() => status().failures >= 2, () => JSON.stringify(status()));
    assert.equal(status().sent, 0);
    assert.equal(status().queued, 1, 'kept, not dropped');
    assert.match(kit.output(), /"err":"[^"]*certificate[^"]*".*sink strict: delivery failed/, 'the log line says why: the certificate');
    kit.apply({ events: [sink({ verify: false })] });
    await until(() => status().sent === 1, () => JSON.stringify(status()));
    assert.equal(ids(rsyslog.lines().slice(before)).at(-1), 'evt-007001');
    assert.match(kit.output(), /telemetry\.events\.sinks\[0\]\.verify is false: the receiver's certificate is not checked/);
  });

  it('sends RFC 5424 datagrams over UDP', async () => {
    const kit = sinkKit();
    kits.push(kit);
    kit.apply({ events: [{ name: 'udp', kind: 'syslog', transport: 'udp', format: 'json', address: `127.0.0.1:${rsyslog.udpPort}`, batch: { interval: '10ms' } }] });
    const before = rsyslog.lines().length;
    for (let n = 9001; n <= 9003; n++) kit.telemetry.events.emit(numberedEvent(n));
    await until(() => rsyslog.lines().length >= before + 3, () => rsyslog.lines().slice(before).join('\n'));
    const lines = rsyslog.lines().slice(before).map((l) => JSON.parse(l) as { request: { id: string } });
    assert.deepEqual(lines.map((l) => l.request.id), ['evt-009001', 'evt-009002', 'evt-009003']);
  });
});
