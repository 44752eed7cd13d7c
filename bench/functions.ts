/**
 * What functions cost (docs/functions.md#what-it-costs):
 *  - cold start: a new engine (the WebAssembly instance a function gets) and
 *    its first sandbox; then the CPU a sandbox costs to prepare (shim and
 *    module evaluated) and to dispose, which the pool does off the request;
 *    a function's worker thread started and ready, and its first call;
 *  - per call with a warm pool: the CPU of a hook that adds a header, as
 *    process.cpuUsage() counts it (getrusage RUSAGE_SELF: every thread of the
 *    process, the function's thread included), and the main thread's share
 *    (/proc/thread-self/schedstat read on the main thread);
 *  - memory: the QuickJS heap of one prepared sandbox, an engine's
 *    WebAssembly memory, and the resident memory of 1, 5 and 20 functions
 *    with a thread each (as before the shared pool) and on a shared pool of
 *    2 threads (run with --expose-gc for a collection between the two);
 *  - the main thread's event-loop delay (perf_hooks.monitorEventLoopDelay)
 *    while a call runs over its limit: the sandbox on the main thread (as
 *    before the threads) against the same call through a function's thread;
 *  - rps of a function upstream against a proxied route of the same gateway
 *    and the bare proxy (bench/bare-proxy.ts), with wrk.
 * Run: npm run build && node --import tsx bench/functions.ts
 * (BENCH_SECONDS: each wrk run, default 5; BENCH_MICRO_ONLY=1 / BENCH_MACRO_ONLY=1: one half)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { Value } from '@sinclair/typebox/value';
import { FunctionSchema } from '../src/config/functions.js';
import { engineBytes, newEngine } from '../src/functions/engine.js';
import { FunctionRuntime } from '../src/functions/runtime.js';
import { Sandbox } from '../src/functions/sandbox.js';
import { compileSource } from '../src/functions/source.js';
import { threadClockName, threadCpuMs } from '../src/functions/thread-clock.js';
import { ThreadPool } from '../src/functions/thread-pool.js';
import { MemoryStore } from '../src/stores/memory.js';
import { Stores } from '../src/stores/stores.js';
import { median } from './lib/stats.js';

const HOOK = `export default (request) => { request.headers.set('x-added', '1'); return request; }`;
const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
// The engine budget is lifted here only: the bench keeps 2,000 sandboxes prepared at once to measure them.
const limits = { memoryBytes: 32 << 20, stackBytes: 256 << 10, cpuMs: 50 };

async function micro(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-fn-'));
  const file = join(dir, 'hook.js');
  writeFileSync(file, HOOK);
  const source = compileSource(file);

  let t = performance.now();
  const engine = await newEngine(2 ** 31);
  const fresh = engineBytes(engine);
  const engineMs = performance.now() - t;
  t = performance.now();
  new Sandbox(engine, source, limits).dispose();
  const firstMs = performance.now() - t;
  console.log(`engine wasm memory at start: ${(fresh / 1048576).toFixed(0)} MiB`);
  console.log(`cold start: engine ${engineMs.toFixed(1)} ms, first sandbox ${firstMs.toFixed(1)} ms`);

  const N = 2000;
  const prepared: Sandbox[] = [];
  let c = cpu();
  for (let i = 0; i < N; i++) prepared.push(new Sandbox(engine, source, limits));
  const prepareUs = (cpu() - c) / N;
  console.log(`memory: one prepared sandbox's QuickJS heap ${(prepared[0]!.memoryUsed() / 1024).toFixed(0)} KiB; engine wasm memory with ${N} prepared: ${(engineBytes(engine) / 1048576).toFixed(0)} MiB`);
  c = cpu();
  for (const s of prepared) s.dispose();
  const disposeUs = (cpu() - c) / N;
  console.log(`sandbox: prepare ${prepareUs.toFixed(0)} µs CPU, dispose ${disposeUs.toFixed(0)} µs CPU`);

  const stores = () => new Stores(new MemoryStore({ maxKeys: 1000 }, pino({ level: 'silent' })));
  const config = Value.Default(FunctionSchema, Value.Clean(FunctionSchema, { name: 'hook', file, pool: 16 })) as never;
  t = performance.now();
  const quiet = () => {};
  const pool = new ThreadPool(1, quiet);
  const runtime = new FunctionRuntime(config, source, stores(), pino({ level: 'silent' }), pool);
  await runtime.ready();
  const threadMs = performance.now() - t;
  const head = { url: 'http://bench.test/orders/7?x=1', method: 'GET', headers: [['host', 'bench.test'], ['user-agent', 'wrk'], ['accept', '*/*']], requestId: 'r', route: 'bench' };
  const info = { requestId: 'r', route: 'bench', onFetchRefused: () => {} };
  t = performance.now();
  const first = await runtime.call('request', head, undefined, info);
  if (!first.ok) throw new Error(first.message);
  console.log(`cold start of a function: its thread started with its engine ${threadMs.toFixed(0)} ms, then its first call ${(performance.now() - t).toFixed(0)} ms (CPU clock of the limits: ${threadClockName()})`);
  await new Promise((r) => setTimeout(r, 500)); // the pool filled
  const total: number[] = [];
  const main: number[] = [];
  // The first few thousand calls are slower (V8 tiers the engine's WebAssembly up on background threads, whose
  // CPU process.cpuUsage counts: rounds of 400 after 800 calls read ~190 µs, after 5,000 ~110-150, load 12).
  for (let i = 0; i < 5000; i++) await runtime.call('request', head, undefined, info);
  for (let round = 0; round < 7; round++) {
    const BATCH = 1000;
    const c0 = cpu();
    const m0 = threadCpuMs();
    for (let i = 0; i < BATCH; i++) {
      const out = await runtime.call('request', head, undefined, info);
      if (!out.ok) throw new Error(out.message);
    }
    // the thread's giving back and refill after the last call, counted in the round
    await new Promise((r) => setTimeout(r, 20));
    if (round > 1) {
      total.push((cpu() - c0) / BATCH);
      main.push(((threadCpuMs() - m0) * 1000) / BATCH);
    }
  }
  console.log(
    `hook adding a header, warm pool, through the function's thread: ${median(total).toFixed(0)} µs CPU a call, all threads of the process (process.cpuUsage), of which ${median(main).toFixed(0)} µs on the main thread`,
  );

  runtime.close();
  pool.close();

  // Resident memory of N functions (pool 4 each, every function called 8 at a time so each thread of a pool hosts it):
  // a thread per function (as before the shared pool: a pool of 1 for each) against a pool of 2 shared by all.
  const settle = () => new Promise((r) => setTimeout(r, 1500));
  const memoryOf = async (n: number, shared: boolean) => {
    if (global.gc) global.gc();
    await settle();
    const rss0 = process.memoryUsage().rss;
    const pools: ThreadPool[] = shared ? [new ThreadPool(2, quiet)] : [];
    const rts: FunctionRuntime[] = [];
    for (let i = 0; i < n; i++) {
      const p = shared ? pools[0]! : (pools[pools.push(new ThreadPool(1, quiet)) - 1]!);
      const r = new FunctionRuntime({ ...(config as object), name: `m${i}`, pool: 4 } as never, source, stores(), pino({ level: 'silent' }), p);
      await r.ready();
      rts.push(r);
    }
    for (const r of rts) await Promise.all(Array.from({ length: 8 }, () => r.call('request', head, undefined, info)));
    await settle(); // the pools filled
    const mib = (process.memoryUsage().rss - rss0) / 1048576;
    const threads = pools.reduce((a, p) => a + p.live, 0);
    for (const r of rts) r.close();
    for (const p of pools) p.close();
    await settle();
    return { mib, threads };
  };
  for (const n of [1, 5, 20]) {
    const own = await memoryOf(n, false);
    const shared = await memoryOf(n, true);
    console.log(
      `memory, ${n} function(s): a thread each ${own.mib.toFixed(0)} MiB resident (${own.threads} threads), shared pool ${shared.mib.toFixed(0)} MiB (${shared.threads} threads)`,
    );
  }

  // The event loop while a function runs over a limit, with the default limits: the sandbox on the main thread
  // (how calls ran before the threads) against the same call through the function's thread.
  const limitsFile = join(dir, 'limits.js');
  writeFileSync(
    limitsFile,
    `export default (request) => { const what = new URL(request.url).pathname.slice(1);
      if (what === 'loop') for (;;) {}
      if (what === 'memory') { const keep = []; for (;;) keep.push(new Float64Array(100000)); }
      const f = (n) => f(n + 1) + 1; return new Response(String(f(0))); }`,
  );
  const limitsConfig = Value.Default(FunctionSchema, Value.Clean(FunctionSchema, { name: 'limits', file: limitsFile, pool: 1, unhealthy_after: 100 })) as never;
  const limitsSource = compileSource(limitsFile);
  const badPool = new ThreadPool(1, quiet);
  const bad = new FunctionRuntime(limitsConfig, limitsSource, stores(), pino({ level: 'silent' }), badPool);
  await bad.ready();
  const defaults = { memoryBytes: 32 << 20, stackBytes: 256 << 10, cpuMs: 50 };
  const noHost = { log: () => {}, fetch: () => Promise.reject(new Error('no')), kv: () => Promise.reject(new Error('no')) };
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const delay = async (run: () => Promise<unknown>, prepare?: () => Promise<void>) => {
    await new Promise((r) => setTimeout(r, 300)); // an engine replaced after a bomb, the pool refilled
    await prepare?.();
    await new Promise((r) => setTimeout(r, 50));
    histogram.reset();
    // The histogram drops its first sample after a reset: one tick first, so a block right after is counted.
    await new Promise((r) => setTimeout(r, 15));
    const t0 = performance.now();
    await run();
    const wall = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 20)); // the histogram's last sample
    return { max: histogram.max / 1e6, wall };
  };
  for (const what of ['loop', 'memory', 'recursion']) {
    const onMain: { max: number; wall: number }[] = [];
    const inThread: { max: number; wall: number }[] = [];
    for (let i = 0; i < 3; i++) {
      // interleaved: one call each way per round
      let sandbox: Sandbox | undefined;
      const prepare = async () => {
        sandbox = new Sandbox(await newEngine(16 * 1048576 + 2 * defaults.memoryBytes), limitsSource, defaults);
      };
      onMain.push(
        await delay(async () => {
          await sandbox!.call({ kind: 'request', head: JSON.stringify({ ...head, url: `http://bench.test/${what}` }), body: undefined, secrets: '{}' }, noHost).then(
            () => {
              throw new Error(`${what} was not stopped`);
            },
            () => undefined,
          );
          try {
            sandbox!.dispose();
          } catch {
            // an engine that aborted
          }
        }, prepare),
      );
      inThread.push(
        await delay(async () => {
          const out = await bad.call('request', { ...head, url: `http://bench.test/${what}` }, undefined, info);
          if (out.ok) throw new Error(`${what} was not stopped`);
        }),
      );
    }
    const m = (xs: { max: number; wall: number }[], k: 'max' | 'wall') => median(xs.map((x) => x[k])).toFixed(0);
    console.log(
      `${what}: event-loop delay max ${m(onMain, 'max')} ms with the sandbox on the main thread (stopped after ${m(onMain, 'wall')} ms), ${m(inThread, 'max')} ms through the function's thread (stopped after ${m(inThread, 'wall')} ms)`,
    );
  }
  histogram.disable();
  bad.close();
  badPool.close();
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
}

async function wrk(url: string, seconds: number): Promise<number> {
  const child = run('wrk', ['-t1', '-c32', `-d${seconds}s`, url]);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('exit', r));
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  return m ? Number(m[1]) : 0;
}

async function waitUp(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not come up`);
}

async function macro(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-fn-'));
  writeFileSync(join(dir, 'api.js'), `export default () => new Response('{"ok":true}', { headers: { 'content-type': 'application/json' } })`);
  const upstream = run(process.execPath, ['-e', `require('http').createServer((q,s)=>{s.setHeader('content-type','application/json');s.end('{"ok":true}')}).listen(19311,'127.0.0.1')`]);
  writeFileSync(
    join(dir, 'gateway.yaml'),
    `
listeners: [{ name: main, address: "127.0.0.1:19312" }]
gateway: { access_log: false }
functions: [{ name: api, file: api.js }]
services:
  - { name: fn, type: function, function: api }
  - { name: proxy, targets: [{ url: "http://127.0.0.1:19311" }] }
routes:
  - { name: fn, service: fn, public: true, match: { paths: [/fn] } }
  - { name: proxy, service: proxy, public: true, match: { paths: [/proxy] } }
`,
  );
  // The built CLI, as bench/run.ts runs it (npm run build first).
  const gateway = run(process.execPath, ['dist/cli.js', 'start', '-c', join(dir, 'gateway.yaml')]);
  gateway.stdout!.resume();
  const bare = run(process.execPath, ['--import', 'tsx', 'bench/bare-proxy.ts', '19313', 'http://127.0.0.1:19311']);
  try {
    await waitUp('http://127.0.0.1:19311/');
    await waitUp('http://127.0.0.1:19312/fn');
    await waitUp('http://127.0.0.1:19313/');
    await wrk('http://127.0.0.1:19312/fn', 1);
    // Interleaved rounds on this shared machine: the ratio within a round is what means something.
    const fn: number[] = [];
    const proxy: number[] = [];
    const bareRps: number[] = [];
    for (let round = 0; round < 3; round++) {
      fn.push(await wrk('http://127.0.0.1:19312/fn', seconds));
      proxy.push(await wrk('http://127.0.0.1:19312/proxy', seconds));
      bareRps.push(await wrk('http://127.0.0.1:19313/', seconds));
    }
    const f = (xs: number[]) => median(xs).toFixed(0);
    console.log(
      `rps (wrk -t1 -c32, ${seconds}s, median of 3 interleaved rounds; the gateway as \`portcullis start\` runs it): function upstream ${f(fn)}, proxied route ${f(proxy)}, bare proxy ${f(bareRps)}; function / bare ${(median(fn) / median(bareRps)).toFixed(2)}`,
    );
  } finally {
    for (const p of [gateway, bare, upstream]) p.kill();
  }
}

if (process.env.BENCH_MACRO_ONLY !== '1') await micro();
if (process.env.BENCH_MICRO_ONLY !== '1') await macro();
