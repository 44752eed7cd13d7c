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
 *
 *   node --import tsx bench/workers-store.ts [--keys N] [--baseline REPO]
 *
 * --keys 1 drives one busy key (bench:workers limits by its one consumer);
 * --baseline REPO adds the leases of another tree's sources, in the same run.
 * Beside CPU, the store messages the worker sent per 1,000 operations: each
 * wakes the supervisor and is answered by one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { MemoryStore } from '../src/stores/memory.js';
import type { StoreHost as StoreHostType } from '../src/cluster/workers/store-host.js';
import type { StoreClient as StoreClientType } from '../src/cluster/workers/remote-store.js';
import type { FromWorker, ToWorker } from '../src/cluster/workers/protocol.js';

const OPS = 200_000;
const LIMITS = [{ limit: 1_000_000_000, windowMs: 60_000 }];
const logger = pino({ level: 'silent' });
const HERE = fileURLToPath(new URL('..', import.meta.url));

/** The store's two sides from a tree's sources (this one, or --baseline REPO's). */
async function sides(repo: string): Promise<{ StoreHost: typeof StoreHostType; StoreClient: typeof StoreClientType }> {
  const at = (path: string) => pathToFileURL(resolve(repo, path)).href;
  const { StoreHost } = (await import(at('src/cluster/workers/store-host.ts'))) as { StoreHost: typeof StoreHostType };
  const { StoreClient } = (await import(at('src/cluster/workers/remote-store.ts'))) as { StoreClient: typeof StoreClientType };
  return { StoreHost, StoreClient };
}

interface Figures {
  mode: string;
  inFlight: number;
  opsPerS: number;
  workerUsPerOp: number;
  supervisorUsPerOp: number;
  /** Store messages the worker sent per 1,000 operations (each wakes the supervisor, and is answered by one). */
  messagesPer1000: number;
}

async function drive(hit: (key: string) => unknown, inFlight: number, keys: number): Promise<{ seconds: number; cpuUs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < OPS) {
        next++;
        await hit(`client-${next % keys}`);
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - start) / 1000, cpuUs: used.user + used.system };
}

async function child(repo: string, keys: number): Promise<void> {
  const { StoreClient } = await sides(repo);
  const client = new StoreClient((m: FromWorker) => process.send!(m));
  process.on('message', (m: ToWorker | { run: number }) => {
    if ('t' in m && m.t === 'store-r') client.answered(m.r);
    else if ('t' in m && m.t === 'lease-recall') client.recalled(m.s, m.ids);
    else if ('run' in m) {
      const store = client.create(JSON.stringify({ kind: 'memory', max_keys: 100_000 }), logger);
      void drive((key) => store.hitWindows(key, LIMITS, false, 1, false), m.run, keys).then((r) => process.send!({ done: r }));
    }
  });
  process.send!({ ready: true });
}

async function parent(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { keys: { type: 'string' }, baseline: { type: 'string' } } });
  // --keys 1: one busy key (as bench:workers' limit by consumer); 1,000 by default.
  const keys = Number(values.keys ?? 1000);
  const modes: Array<{ mode: string; repo: string; lend: boolean }> = [
    { mode: 'per operation', repo: HERE, lend: false },
    { mode: 'leases', repo: HERE, lend: true },
  ];
  // --baseline REPO: the same leases from another tree's sources, in the same run (a before/after).
  if (values.baseline) modes.push({ mode: `leases, ${values.baseline}`, repo: values.baseline, lend: true });
  const figures: Figures[] = [];
  const local = new MemoryStore({ maxKeys: 100_000 }, logger);
  const inProcess = await drive((key) => local.hitWindows(key, LIMITS, false, 1, false), 1, keys);
  await local.close();
  process.stdout.write(`${keys} keys; in process (MemoryStore): ${Math.round(OPS / inProcess.seconds)} ops/s, ${(inProcess.cpuUs / OPS).toFixed(2)} µs CPU/op\n`);
  for (const { mode, repo, lend } of modes)
  for (const inFlight of [1, 16, 256]) {
    const { StoreHost } = await sides(repo);
    let worker: ChildProcess | undefined = undefined;
    // Without a way to reach the worker the host lends nothing: every operation asks.
    const host = lend ? new StoreHost(logger, (_id, message) => worker?.send(message)) : new StoreHost(logger);
    worker = fork(fileURLToPath(import.meta.url), ['child', repo, String(keys)], { execArgv: ['--import', 'tsx'] });
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    const cpu = process.cpuUsage();
    let messages = 0;
    worker.on('message', (m: FromWorker) => {
      if (m.t !== 'store') return;
      messages++;
      host.apply(m.s, m.b, 0, () => {}, (r) => worker.send({ t: 'store-r', r } satisfies ToWorker));
    });
    worker.send({ run: inFlight });
    const done = await new Promise<{ seconds: number; cpuUs: number }>((resolve) =>
      worker.on('message', (m: { done?: { seconds: number; cpuUs: number } }) => m.done && resolve(m.done)),
    );
    const used = process.cpuUsage(cpu);
    worker.kill();
    host.close();
    figures.push({ mode, inFlight, opsPerS: OPS / done.seconds, workerUsPerOp: done.cpuUs / OPS, supervisorUsPerOp: (used.user + used.system) / OPS, messagesPer1000: (messages * 1000) / OPS });
  }
  process.stdout.write('\n| mode | in flight | ops/s | worker CPU µs/op | supervisor CPU µs/op | messages per 1,000 ops |\n|---|---:|---:|---:|---:|---:|\n');
  for (const f of figures) {
    process.stdout.write(`| ${f.mode} | ${f.inFlight} | ${Math.round(f.opsPerS)} | ${f.workerUsPerOp.toFixed(2)} | ${f.supervisorUsPerOp.toFixed(2)} | ${f.messagesPer1000.toFixed(1)} |\n`);
  }
}

if (process.argv[2] === 'child') void child(process.argv[3] ?? HERE, Number(process.argv[4] ?? 1000));
else void parent();
