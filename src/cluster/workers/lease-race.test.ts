/**
 * Rate-limit leases end to end in one process: the supervisor's StoreHost and
 * four workers' real StoreClient/RemoteStore, joined by in-order channels (as
 * node:cluster's IPC is: one FIFO per direction per worker). Mock only of the
 * transport: forking workers cannot interleave their batches on purpose; the
 * e2e test (test/e2e/workers-node.test.ts) runs the real processes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { StoreClient, type RemoteStore } from './remote-store.js';
import { StoreHost } from './store-host.js';
import type { FromWorker, ToWorker } from './protocol.js';

const logger = pino({ level: 'silent' });
const storeKey = JSON.stringify({ kind: 'memory', max_keys: 1000 });

/** A FIFO channel delivering one message per macrotask turn. */
class Channel<T> {
  private readonly queue: T[] = [];
  private pumping = false;
  constructor(private readonly deliver: (message: T) => void) {}
  push(message: T): void {
    this.queue.push(message);
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => this.pump());
  }
  private pump(): void {
    const message = this.queue.shift();
    if (message !== undefined) this.deliver(message);
    if (this.queue.length > 0) setImmediate(() => this.pump());
    else this.pumping = false;
  }
}

function node(workers: number): { stores: RemoteStore[]; ops: Map<string, number>; close: () => void } {
  /** Store operations the supervisor applied, by name. */
  const ops = new Map<string, number>();
  const toWorker: Array<Channel<ToWorker>> = [];
  const clients: StoreClient[] = [];
  const host = new StoreHost(logger, (id, message) => toWorker[id]!.push(message));
  const stores: RemoteStore[] = [];
  for (let w = 0; w < workers; w++) {
    const up = new Channel<FromWorker>((message) => {
      if (message.t !== 'store') return;
      for (const op of message.b) ops.set(op[1], (ops.get(op[1]) ?? 0) + 1);
      host.apply(
        message.s,
        message.b,
        w,
        (answer) => toWorker[w]!.push({ t: 'store-r', r: [answer] }),
        (answers) => toWorker[w]!.push({ t: 'store-r', r: answers }),
      );
    });
    const client = new StoreClient((message) => up.push(message));
    clients.push(client);
    toWorker.push(
      new Channel<ToWorker>((message) => {
        if (message.t === 'store-r') client.answered(message.r);
        else if (message.t === 'lease-recall') client.recalled(message.s, message.ids);
      }),
    );
    stores.push(client.create(storeKey, logger));
  }
  return {
    stores,
    ops,
    close: () => {
      for (const c of clients) c.close();
      host.close();
    },
  };
}

describe('rate-limit leases across workers (StoreHost + worker clients, in-order channels)', () => {
  it('admits exactly the limit: 4 workers, waves of 30 concurrent requests, 300 in all, for a limit of 100 (fixed and sliding)', async () => {
    for (let round = 0; round < 20; round++) {
      const { stores, close } = node(4);
      const limits = [{ limit: 100, windowMs: 3_600_000 }];
      let admitted = 0;
      let refused = 0;
      const sliding = round % 2 === 1;
      let seed = round * 7919 + 1;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
      for (let wave = 0; wave < 10; wave++) {
        const decisions = await Promise.all(
          Array.from({ length: 30 }, () => Promise.resolve(stores[next() % 4]!.hitWindows('client-a', limits, sliding, 1, false))),
        );
        for (const d of decisions) if (d.allowed) admitted++;
        else refused++;
      }
      close();
            // Before recalls were sent after the batch's answers: 98 of 100 in the first round.
      assert.deepEqual({ round, admitted, refused }, { round, admitted: 100, refused: 200 });
    }
  });
  it('renews busy keys\' leases before they run out, and still admits exactly the limit (fixed and sliding)', async () => {
    for (const sliding of [false, true]) {
      const { stores, ops, close } = node(4);
      const limits = [{ limit: 2_000, windowMs: 3_600_000 }];
      let admitted = 0;
      let seed = sliding ? 17 : 5;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
      // 4,000 requests in waves of 40: far from the limit at first (renewals), then recalls near it.
      for (let wave = 0; wave < 100; wave++) {
        const decisions = await Promise.all(Array.from({ length: 40 }, () => Promise.resolve(stores[next() % 4]!.hitWindows('client-b', limits, sliding, 1, false))));
        for (const d of decisions) if (d.allowed) admitted++;
      }
      close();
      assert.equal(admitted, 2_000, `sliding ${sliding}`);
      assert.ok((ops.get('lease.renew') ?? 0) > 0, `renewals were made: ${JSON.stringify([...ops])}`);
    }
  });
});
