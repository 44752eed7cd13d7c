/**
 * node --import tsx bench/workers-store.ts: what the node's memory store
 * costs a worker (docs/workers.md): rate-limit operations (hitWindows) from
 * a child process to the store its parent holds, over the IPC channel, with
 * the batching of src/cluster/workers/remote-store.ts, against the same
 * operation on an in-process MemoryStore. For 1, 16 and 256 operations in
 * flight: operations per second, and CPU µs per operation in the worker and
 * in the supervisor; once with every operation asking the supervisor (as
 * token buckets and quotas do), once with rate-limit leases
 * (src/cluster/workers/lease-host.ts: 1,000 keys far from their limit, so a
 * worker asks about once per 100 operations of a key). The channel speaks
 * JSON, as the cluster's does (structured clone cost about twice the CPU per
 * operation here).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { MemoryStore } from '../src/stores/memory.js';
import { StoreHost } from '../src/cluster/workers/store-host.js';
import { StoreClient } from '../src/cluster/workers/remote-store.js';
import type { FromWorker, ToWorker } from '../src/cluster/workers/protocol.js';

const OPS = 200_000;
const LIMITS = [{ limit: 1_000_000_000, windowMs: 60_000 }];
const logger = pino({ level: 'silent' });

interface Figures {
  mode: 'per operation' | 'leases';
  inFlight: number;
  opsPerS: number;
  workerUsPerOp: number;
  supervisorUsPerOp: number;
}

async function drive(hit: (key: string) => unknown, inFlight: number): Promise<{ seconds: number; cpuUs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < OPS) {
        next++;
        await hit(`client-${next % 1000}`);
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - start) / 1000, cpuUs: used.user + used.system };
}

function child(): void {
  const client = new StoreClient((m: FromWorker) => process.send!(m));
  process.on('message', (m: ToWorker | { run: number }) => {
    if ('t' in m && m.t === 'store-r') client.answered(m.r);
    else if ('t' in m && m.t === 'lease-recall') client.recalled(m.s, m.ids);
    else if ('run' in m) {
      const store = client.create(JSON.stringify({ kind: 'memory', max_keys: 100_000 }), logger);
      void drive((key) => store.hitWindows(key, LIMITS, false, 1, false), m.run).then((r) => process.send!({ done: r }));
    }
  });
  process.send!({ ready: true });
}

async function parent(): Promise<void> {
  const figures: Figures[] = [];
  const local = new MemoryStore({ maxKeys: 100_000 }, logger);
  const inProcess = await drive((key) => local.hitWindows(key, LIMITS, false, 1, false), 1);
  await local.close();
  process.stdout.write(`in process (MemoryStore): ${Math.round(OPS / inProcess.seconds)} ops/s, ${(inProcess.cpuUs / OPS).toFixed(2)} µs CPU/op\n`);
  for (const mode of ['per operation', 'leases'] as const)
  for (const inFlight of [1, 16, 256]) {
    let worker: ChildProcess | undefined = undefined;
    // Without a way to reach the worker the host lends nothing: every operation asks.
    const host = mode === 'leases' ? new StoreHost(logger, (_id, message) => worker?.send(message)) : new StoreHost(logger);
    worker = fork(fileURLToPath(import.meta.url), ['child'], { execArgv: ['--import', 'tsx'] });
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    const cpu = process.cpuUsage();
    worker.on('message', (m: FromWorker) => {
      if (m.t === 'store') host.apply(m.s, m.b, 0, () => {}, (r) => worker.send({ t: 'store-r', r } satisfies ToWorker));
    });
    worker.send({ run: inFlight });
    const done = await new Promise<{ seconds: number; cpuUs: number }>((resolve) =>
      worker.on('message', (m: { done?: { seconds: number; cpuUs: number } }) => m.done && resolve(m.done)),
    );
    const used = process.cpuUsage(cpu);
    worker.kill();
    host.close();
    figures.push({ mode, inFlight, opsPerS: OPS / done.seconds, workerUsPerOp: done.cpuUs / OPS, supervisorUsPerOp: (used.user + used.system) / OPS });
  }
  process.stdout.write('\n| mode | in flight | ops/s | worker CPU µs/op | supervisor CPU µs/op |\n|---|---:|---:|---:|---:|\n');
  for (const f of figures) {
    process.stdout.write(`| ${f.mode} | ${f.inFlight} | ${Math.round(f.opsPerS)} | ${f.workerUsPerOp.toFixed(2)} | ${f.supervisorUsPerOp.toFixed(2)} |\n`);
  }
}

if (process.argv[2] === 'child') void child();
else void parent();
