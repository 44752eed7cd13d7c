/**
 * Syslog sink throughput into a real rsyslogd (Debian rsyslog + rsyslog-gnutls): 20,000 CEF
 * events over TLS, then plain TCP; events per second and the gateway's CPU per event, which
 * includes one connection (and TLS handshake) per batch. Run: node --import tsx bench/sinks-syslog.ts
 */
import { makePki } from '../test/helpers/tls.js';
import { startRsyslog } from '../test/helpers/rsyslog.js';
import { numberedEvent, sinkKit, until } from '../src/telemetry/sinks/test-kit.js';
const pki = await makePki();
const server = await pki.issue('rsyslog', { ips: ['127.0.0.1'], usage: 'server' });
const rs = await startRsyslog({ tls: { caFile: pki.caFile, certFile: server.cert, keyFile: server.key } });
for (const transport of ['tls', 'tcp'] as const) {
  if (transport === 'tcp') { await rs.stop(); }
  const rs2 = transport === 'tcp' ? await startRsyslog({}) : rs;
  const kit = sinkKit();
  kit.apply({ events: [{ name: 's', kind: 'syslog', format: 'cef', transport, address: `127.0.0.1:${rs2.tcpPort}`, ...(transport === 'tls' ? { ca: pki.caFile } : {}), queue: 100000 }] });
  const N = 20000;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  for (let n = 1; n <= N; n++) kit.telemetry.events.emit(numberedEvent(n));
  await until(() => kit.telemetry.sinkStatus()[0]!.sent === N, () => JSON.stringify(kit.telemetry.sinkStatus()), 120000);
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  await until(() => rs2.lines().length >= N, () => `${rs2.lines().length}`, 120000);
  console.log(`${transport}: ${N} CEF events in ${ms.toFixed(0)} ms = ${(N / ms * 1000).toFixed(0)}/s; gateway CPU ${((used.user + used.system) / N).toFixed(1)} µs/event`);
  await kit.sinks.close(0);
  await rs2.stop();
}
process.exit(0);
