/**
 * What tracing costs one request on the gateway's main thread, in CPU µs:
 * the shipped code path (Tracing.begin at intake, the traceparent for the
 * upstream, one attempt span, the server span's end) in each mode, with
 * spans exported through the real batch processor and OTLP/HTTP protobuf
 * exporter to a sink in another process (so the export work, serializing and
 * sending, is counted; the sink's is not). A loaded, shared machine makes
 * `npm run bench` too noisy to see a few µs; this isolates them.
 * Run: node --import tsx bench/tracing.ts
 */
import { spawn } from 'node:child_process';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { pino } from 'pino';
import { TracingSchema, type TracingConfig } from '../src/config/telemetry/tracing.js';
import { RequestContext } from '../src/pipeline/context.js';
import { Tracing } from '../src/telemetry/tracing/tracing.js';
import { Value } from '@sinclair/typebox/value';
import { median } from './lib/stats.js';

const BATCH = 1000;
const BATCHES = Number(process.env.BENCH_BATCHES ?? 100);
const REPEATS = 5;
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const noTrust = { trusts: () => false };

async function startSink(): Promise<{ url: string; stop(): void }> {
  const child = spawn(
    process.execPath,
    ['-e', "require('http').createServer((q,s)=>{q.resume();q.on('end',()=>s.end())}).listen(0,'127.0.0.1',function(){console.log(this.address().port)})"],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
  return { url: `http://127.0.0.1:${port}/v1/traces`, stop: () => child.kill() };
}

function request(headers: Record<string, string>): RequestContext {
  const ctx = new RequestContext('0f8e4c52-6a1b-4f8e-9a1c-2b3d4e5f6a7b', 'GET', '/bench', '', headers, '127.0.0.1', '127.0.0.1', 'http', performance.now(), undefined);
  ctx.routeName = 'bench';
  ctx.serviceName = 'upstream';
  return ctx;
}

/** One request's tracing work, as intake, forwarded.ts, the exchange and settle do it. */
function oneRequest(tracing: Tracing, headers: Record<string, string>): void {
  const ctx = request(headers);
  const trace = tracing.begin(ctx, '127.0.0.1', noTrust);
  if (trace === undefined) return;
  let traceparent = trace.traceparent();
  const attempts = trace.attempts();
  if (attempts) {
    traceparent = attempts.begin(0, 'http://127.0.0.1:40000', '/bench');
    attempts.status(200);
    attempts.end();
  }
  if (traceparent.length === 0) throw new Error('unreachable');
  trace.finish(ctx, 200, true);
}

async function measure(label: string, config: Partial<TracingConfig>, headers: Record<string, string>, sink: string): Promise<void> {
  const tracing = new Tracing(pino({ level: 'warn' }), 'bench');
  const full = Value.Default(TracingSchema, { endpoint: sink, batch_delay: '200ms', ...config }) as TracingConfig;
  tracing.configure(full);
  const results: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const before = process.cpuUsage();
    for (let b = 0; b < BATCHES; b++) {
      for (let i = 0; i < BATCH; i++) oneRequest(tracing, headers);
      await yieldToLoop(); // lets the batch processor's timer and the exports run, and be counted
    }
    const used = process.cpuUsage(before);
    results.push((used.user + used.system) / (BATCHES * BATCH));
  }
  await tracing.shutdown();
  process.stdout.write(`${label.padEnd(52)} ${median(results).toFixed(2).padStart(7)} CPU µs/request (runs: ${results.map((x) => x.toFixed(2)).join(' ')})\n`);
}

const sink = await startSink();
try {
  // The baseline: what is left of a request's work when tracing does nothing (the RequestContext alone).
  await measure('no tracing section, no traceparent (baseline)', {}, {}, sink.url);
  await measure('tracing off, client sends a traceparent', {}, { traceparent: TRACEPARENT }, sink.url);
  await measure('tracing on, sample_ratio 0 (ids only)', { enabled: true, sample_ratio: 0 }, {}, sink.url);
  await measure('tracing on, sample_ratio 0.01', { enabled: true, sample_ratio: 0.01 }, {}, sink.url);
  await measure('tracing on, sample_ratio 1 (2 spans a request, exported)', { enabled: true, sample_ratio: 1 }, {}, sink.url);
} finally {
  sink.stop();
}
