/**
 * What metrics cost the request path, in ns of CPU per request, measured on
 * the code the handler calls (GatewayMetrics.requestEnded) rather than end to
 * end: on a shared 2-core machine `npm run bench -- --chain --metrics` moves
 * by tens of µs between rounds, far more than the 2 µs bar it must be judged
 * against. Also: a refused request's event counted from the bus, and one
 * scrape (render) of a registry with 20 routes, amortized per request at a
 * 15 s scrape interval and 5,000 requests a second.
 * Run: npm run bench:metrics
 */
import { cpuUsage } from 'node:process';
import type { RequestContext } from '../src/pipeline/context.js';
import { EventBus, type TelemetryEvent } from '../src/telemetry/event.js';
import { GatewayMetrics } from '../src/telemetry/metrics/index.js';
import { DEFAULT_LATENCY_BUCKETS } from '../src/config/telemetry/metrics.js';
import { median } from './lib/stats.js';

const N = Number(process.env.BENCH_CALLS ?? 2_000_000);
const REPEATS = 7;
const ROUTES = 20;

const sources = {
  services: () => [],
  store: () => ({ kind: 'memory', state: 'up' as const, incidents: 0, failedOperations: 0 }),
  certificates: () => [],
  overload: () => ({ inFlight: 3, shed: 0, lastDelayMs: 1 }),
  sinks: () => [],
  configVersion: () => 1,
};

/** What the handler's RequestContext holds after a proxied, key-authenticated GET. */
function context(route: number): RequestContext {
  return {
    id: '0f8e4c52-6a1b-4f8e-9a1c-2b3d4e5f6a7b',
    method: route % 5 === 0 ? 'POST' : 'GET',
    routeName: `route-${route}`,
    serviceName: `service-${route % 4}`,
    upstreamTarget: 'http://127.0.0.1:40000',
    consumer: { name: `consumer-${route}`, groups: [], metadata: {} },
    headers: route % 5 === 0 ? { 'content-length': '512' } : {},
    bufferedBody: undefined,
    bytesSent: 100,
    bytesReceived: 0,
    upstreamLatencyMs: 0.734 + route / 10,
    upstreamRetries: 0,
    startTime: performance.now(),
  } as unknown as RequestContext;
}

function cpuNsPerCall(run: () => void): number {
  const samples: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const before = cpuUsage();
    run();
    const used = cpuUsage(before);
    samples.push(((used.user + used.system) * 1000) / N);
  }
  return median(samples);
}

const contexts = Array.from({ length: ROUTES }, (_, i) => context(i));
const statuses = [200, 200, 200, 404, 200, 503, 200, 200, 301, 200];

function measure(consumerLabels: boolean): { off: number; on: number } {
  const metrics = new GatewayMetrics({ latencyBuckets: DEFAULT_LATENCY_BUCKETS, consumerLabels: { enabled: consumerLabels, max: 100 } }, sources, new EventBus('bench'));
  const telemetry: { metrics: GatewayMetrics | undefined } = { metrics: undefined };
  // As the handler does: `telemetry.metrics?.requestEnded(ctx, status)`.
  const loop = () => {
    for (let i = 0; i < N; i++) telemetry.metrics?.requestEnded(contexts[i % ROUTES]!, statuses[i % 10]!);
  };
  loop(); // warm up: V8 compiles the loop both ways
  telemetry.metrics = metrics;
  loop();
  telemetry.metrics = undefined;
  const off = cpuNsPerCall(loop);
  telemetry.metrics = metrics;
  const on = cpuNsPerCall(loop);
  metrics.close();
  return { off, on };
}

const plain = measure(false);
const withConsumers = measure(true);

// A refusal: the event every refused request puts on the bus, counted by the metrics' listener.
const bus = new EventBus('bench');
const counted = new GatewayMetrics({ latencyBuckets: DEFAULT_LATENCY_BUCKETS, consumerLabels: { enabled: false, max: 100 } }, sources, bus);
const refusal: TelemetryEvent = {
  time: new Date().toISOString(),
  node: 'bench',
  type: 'auth.invalid_credentials',
  category: 'authentication',
  severity: 'medium',
  action: 'blocked',
  message: 'unknown API key',
  source: 'key-auth',
  code: 'unauthorized',
  reason: 'invalid_credentials',
  request: { id: 'x', method: 'GET', path: '/', host: 'h', clientIp: '127.0.0.1', route: 'route-1', status: 401 },
};
for (let i = 0; i < N; i++) bus.emit(refusal);
const perEvent = cpuNsPerCall(() => {
  for (let i = 0; i < N; i++) bus.emit(refusal);
});

for (let i = 0; i < 100_000; i++) counted.requestEnded(contexts[i % ROUTES]!, statuses[i % 10]!);
const renders: number[] = [];
for (let r = 0; r < 20; r++) {
  const t = performance.now();
  await counted.render();
  renders.push(performance.now() - t);
}
const renderMs = median(renders);
counted.close();

const f = (ns: number) => `${ns.toFixed(0)} ns`;
process.stdout.write(
  `metrics on the request path, ${N.toLocaleString('en')} calls × ${REPEATS} (median), ${ROUTES} routes, Node ${process.version}\n` +
    `  metrics off (one property read):            ${f(plain.off)} per request\n` +
    `  metrics on:                                 ${f(plain.on)} per request  (+${f(plain.on - plain.off)})\n` +
    `  metrics on, consumer labels on:             ${f(withConsumers.on)} per request  (+${f(withConsumers.on - withConsumers.off)})\n` +
    `  a refusal's event counted (refused requests only): ${f(perEvent)} per event\n` +
    `  one scrape (render, ${ROUTES} routes): ${renderMs.toFixed(2)} ms = ${f((renderMs * 1e6) / (15 * 5000))} per request at 15 s and 5,000 rps\n`,
);
