/**
 * What the sinks cost on the gateway's main thread, in µs:
 * - the access line with no sink configured (the default path) against the
 *   AccessLog of the commit before sinks (pass its path as BASE_ACCESS_LOG to compare);
 * - an access record built and queued for a file sink (the tap), and the
 *   delivery loop's work per record (format + write) in each format;
 * - an event put on the bus with one queued sink.
 * Run: node --import tsx bench/sinks.ts
 */
import { pino } from 'pino';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestContext } from '../src/pipeline/context.js';
import { AccessLog } from '../src/telemetry/access-log.js';
import { formatter } from '../src/telemetry/formats/index.js';
import { SAMPLES } from '../src/telemetry/formats/samples.js';
import { sinkKit, numberedEvent } from '../src/telemetry/sinks/test-kit.js';
import { median } from './lib/stats.js';

const N = 100_000;
const ctx = {
  id: '0f8e4c52-6a1b-4f8e-9a1c-2b3d4e5f6a7b',
  clientIp: '127.0.0.1',
  method: 'GET',
  path: '/bench',
  host: '127.0.0.1',
  routeName: 'bench',
  serviceName: 'upstream',
  upstreamTarget: 'http://127.0.0.1:40000',
  consumer: { name: 'bench', groups: [], metadata: {} },
  denial: undefined,
  bytesSent: 100,
  upstreamLatencyMs: 0.734,
  startTime: performance.now(),
  events: undefined,
} as unknown as RequestContext;

function perOp(run: () => void, n = N): number {
  const samples: number[] = [];
  for (let r = 0; r < 5; r++) {
    // CPU time rather than wall time: the machine is shared, and a descheduled thread is not the sink's cost.
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) run();
    const used = process.cpuUsage(start);
    samples.push((used.user + used.system) / n);
  }
  return median(samples);
}

const devnull = () => pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 });

const rows: Array<[string, number]> = [];
const mine = new AccessLog(devnull());
rows.push(['access line, default (no sink but stdout)', perOp(() => mine.write(ctx, 200, true))]);
if (process.env.BASE_ACCESS_LOG) {
  const { AccessLog: Base } = (await import(process.env.BASE_ACCESS_LOG)) as { AccessLog: typeof AccessLog };
  const base = new Base(devnull());
  rows.push(['access line, the AccessLog before sinks', perOp(() => base.write(ctx, 200, true))]);
  rows.push(['access line, default (again, interleaved)', perOp(() => mine.write(ctx, 200, true))]);
}
for (const name of ['json', 'cef', 'ocsf', 'ecs'] as const) {
  const f = formatter(name);
  rows.push([`format ${name}, an event`, perOp(() => f(SAMPLES.threat), 20_000)]);
  rows.push([`format ${name}, an access record`, perOp(() => f(SAMPLES.access), 20_000)]);
}
{
  const kit = sinkKit();
  kit.apply({ access_log: [{ kind: 'file', format: 'ecs', path: join(mkdtempSync(join(tmpdir(), 'bench-')), 'a.log'), queue: 1_000_000, batch: { max_records: 10_000 } }] });
  rows.push(['access record built and queued for a file sink (the tap)', perOp(() => kit.accessLog.write(ctx, 200, true), 20_000)]);
  const event = numberedEvent(1);
  kit.apply({ events: [{ kind: 'file', format: 'cef', path: join(mkdtempSync(join(tmpdir(), 'bench-')), 'e.log'), queue: 1_000_000, batch: { max_records: 10_000 } }] });
  rows.push(['event emitted to one queued sink', perOp(() => kit.telemetry.events.emit(event), 20_000)]);
  await kit.sinks.close(0);
}
console.log(`sinks, CPU µs per operation on the main thread (median of 5 runs), Node ${process.version}`);
for (const [what, us] of rows) console.log(`${us.toFixed(2).padStart(8)} µs  ${what}`);
await new Promise((r) => setTimeout(r, 200));
process.exit(0);
