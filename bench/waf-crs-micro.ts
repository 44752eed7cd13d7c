/**
 * The CRS engine's costs, without a server: µs of process CPU per request
 * (typical GET, the same GET with values never seen before, 1 KB JSON body) for engine crs, native and both at paranoia 1;
 * a hostile 64 KB value of random punctuation (ms); loading the rule set (ms,
 * heap and resident MB) and a reload with unchanged rules (ms).
 *
 *   node --expose-gc --import tsx bench/waf-crs-micro.ts [--iterations 3000]
 *
 * Timing belongs here, not in the pass/fail tests.
 */
import { loadavg } from 'node:os';
import waf from '../src/policies/waf/index.js';
import type { PolicyInstance } from '../src/pipeline/policy.js';
import { compilePolicy, requestContext, type FakeRequest } from '../test/helpers/policy.js';
import { freshGet, get, hostile, post } from './lib/waf-crs-requests.js';

const args = process.argv.slice(2);
const iterations = args.includes('--iterations') ? Number(args[args.indexOf('--iterations') + 1]) : 3000;


function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function measure(request: FakeRequest | (() => FakeRequest), instance: PolicyInstance | undefined, n: number): Promise<number> {
  const run = async (): Promise<void> => {
    const ctx = requestContext(typeof request === 'function' ? request() : request);
    if (instance?.onRequest) {
      const result = instance.onRequest(ctx);
      if (result instanceof Promise) await result;
    }
  };
  for (let i = 0; i < Math.min(200, n); i++) await run();
  const start = cpuMicros();
  for (let i = 0; i < n; i++) await run();
  return (cpuMicros() - start) / n;
}

global.gc?.();
const mem0 = process.memoryUsage();
let t = performance.now();
const crs = compilePolicy(waf, { engine: 'crs', body: { max_size: '128KiB' } });
const loadMs = performance.now() - t;
global.gc?.();
const mem1 = process.memoryUsage();
const heapMb = (mem1.heapUsed - mem0.heapUsed) / 1e6;
// RE2's compiled programs live outside the JS heap: the resident set shows them
const rssMb = (mem1.rss - mem0.rss) / 1e6;
t = performance.now();
compilePolicy(waf, { engine: 'crs', body: { max_size: '128KiB' } });
const reloadMs = performance.now() - t;
const instances = { crs, native: compilePolicy(waf, { engine: 'native' }), both: compilePolicy(waf, { engine: 'both' }) };

console.log(`node ${process.version}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`rule set load ${loadMs.toFixed(0)} ms, heap +${heapMb.toFixed(1)} MB, rss +${rssMb.toFixed(1)} MB (run with --expose-gc for settled figures); reload unchanged ${reloadMs.toFixed(1)} ms`);
console.log('| request | engine | µs CPU per request (harness subtracted) |');
console.log('|---|---|---:|');
for (const [label, request, n] of [
  ['GET, 5 query args, browser headers', get, iterations],
  ['GET, as above, values unseen before', freshGet, iterations],
  [`POST, ${Buffer.byteLength(post.body!)} B JSON`, post, iterations],
  ['POST, hostile 64 KB punctuation value', hostile, Math.max(20, Math.floor(iterations / 100))],
] as const) {
  const base = await measure(request, undefined, n);
  for (const [name, inst] of Object.entries(instances)) {
    const us = (await measure(request, inst, n)) - base;
    console.log(`| ${label} | ${name} | ${us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : us.toFixed(1)} |`);
  }
}
