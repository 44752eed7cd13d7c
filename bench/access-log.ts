/**
 * What one access log line costs on the gateway's main thread, in µs: the
 * shipped AccessLog (a hand-built line into the shared buffered stream), then
 * the pino variants it replaced, which show where their cost came from
 * (redaction, pino's timestamp/formatters, pino itself).
 * Lines go to /dev/null through the same buffered asynchronous destination
 * the gateway uses. Run: node --import tsx bench/access-log.ts
 */
import { openSync, writeSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { pino } from 'pino';
import type { RequestContext } from '../src/pipeline/context.js';
import type { Logger } from 'pino';
import { AccessLog } from '../src/telemetry/access-log.js';
import { createLogger } from '../src/telemetry/logger.js';
import { median } from './lib/stats.js';

const BATCH = 1000;
const BATCHES = Number(process.env.BENCH_BATCHES ?? 200);
const REPEATS = 5;

const destination = () => pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 });

// What the handler's RequestContext holds after a proxied, key-authenticated GET.
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

/** The access line as the gateway wrote it through pino before AccessLog. */
function pinoLine(logger: Logger): void {
  logger.info(
    {
      type: 'access',
      request_id: ctx.id,
      client_ip: ctx.clientIp,
      method: ctx.method,
      path: ctx.path,
      host: ctx.host,
      route: ctx.routeName,
      service: ctx.serviceName,
      target: ctx.upstreamTarget,
      consumer: ctx.consumer?.name,
      status: 200,
      code: undefined,
      completed: true,
      bytes_sent: ctx.bytesSent,
      upstream_ms: Math.round(ctx.upstreamLatencyMs * 100) / 100,
      total_ms: Math.round((performance.now() - ctx.startTime) * 100) / 100,
      events: undefined,
    },
    'request',
  );
}

/** Each variant logs one access line for ctx. */
function variants(): Array<[string, () => void]> {
  const shipped = new AccessLog(createLogger({ destination: destination() }).destination);
  const redacting = createLogger({ destination: destination() }).logger;
  const base = {
    level: 'info',
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  const noRedact = pino(base, destination());
  const plain = pino({ base: undefined }, destination());

  // No pino at all: the line built by hand, buffered, written in 4 KiB batches.
  const fd = openSync('/dev/null', 'w');
  let buffer = '';
  const handBuilt = () => {
    const c = ctx as unknown as Record<string, unknown> & { consumer: { name: string }; startTime: number; upstreamLatencyMs: number };
    buffer +=
      `{"level":"info","time":"${new Date().toISOString()}","type":"access","request_id":${JSON.stringify(c.id)},"client_ip":${JSON.stringify(c.clientIp)},` +
      `"method":${JSON.stringify(c.method)},"path":${JSON.stringify(c.path)},"host":${JSON.stringify(c.host)},"route":${JSON.stringify(c.routeName)},` +
      `"service":${JSON.stringify(c.serviceName)},"target":${JSON.stringify(c.upstreamTarget)},"consumer":${JSON.stringify(c.consumer.name)},` +
      `"status":200,"completed":true,"bytes_sent":${String(c.bytesSent)},"upstream_ms":${String(Math.round(c.upstreamLatencyMs * 100) / 100)},` +
      `"total_ms":${String(Math.round((performance.now() - c.startTime) * 100) / 100)},"msg":"request"}\n`;
    if (buffer.length >= 4096) {
      writeSync(fd, buffer);
      buffer = '';
    }
  };
  return [
    ['AccessLog as shipped (hand-built line, shared buffered destination)', () => shipped.write(ctx, 200, true)],
    ['pino with the operational logger options (redact, isoTime, level formatter)', () => pinoLine(redacting)],
    ['pino, same options without redact', () => pinoLine(noRedact)],
    ['pino defaults (epoch time, numeric level, no redact)', () => pinoLine(plain)],
    ['hand-built JSON line, no pino, 4 KiB buffered writeSync', handBuilt],
  ];
}

async function measure(run: () => void): Promise<number> {
  const samples: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    let elapsed = 0;
    for (let b = 0; b < BATCHES; b++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < BATCH; i++) run();
      elapsed += Number(process.hrtime.bigint() - start);
      await yieldToLoop(); // let the destination flush, as the event loop does between requests
    }
    samples.push(elapsed / (BATCH * BATCHES) / 1000);
  }
  return median(samples);
}

const list = variants();
for (const [, run] of list) await measure(run); // warm-up: let V8 optimise every variant
process.stdout.write(`access log line, µs per line on the main thread (median of ${REPEATS} × ${BATCH * BATCHES} lines), Node ${process.version}\n`);
for (const [name, run] of list) process.stdout.write(`  ${(await measure(run)).toFixed(2).padStart(6)} µs  ${name}\n`);
