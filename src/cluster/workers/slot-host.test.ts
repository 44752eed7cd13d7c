import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SlotHost } from './slot-host.js';
import type { StoreAnswer } from './protocol.js';

describe('the node\'s concurrency slots (SlotHost)', () => {
  it('holds at most max per key across workers, queues first come first served, and hands a released slot on', () => {
    const host = new SlotHost();
    const later: StoreAnswer[] = [];
    const take = (worker: number, id: number, queue = 2) => host.take(worker, id, 'k', 2, queue, 60_000, (a) => later.push(a));
    assert.deepEqual(take(1, 1), [1, true]);
    assert.deepEqual(take(2, 1), [1, true]);
    assert.equal(take(3, 1), undefined, 'waits');
    assert.equal(take(1, 2), undefined, 'waits');
    assert.deepEqual(take(2, 2), [2, false], 'queue full');
    host.release(2, 1);
    assert.deepEqual(later, [[1, true]], 'the longest waiting (worker 3) got the slot');
    assert.equal(host.active('k'), 2);
    host.release(1, 2);
    assert.deepEqual(later.at(-1), [2, false], 'left the queue: answered refused');
    host.close();
  });

  it('frees every slot of a worker that exited, for the others', () => {
    const host = new SlotHost();
    const later: StoreAnswer[] = [];
    const take = (worker: number, id: number) => host.take(worker, id, 'k', 2, 5, 60_000, (a) => later.push(a));
    take(7, 1);
    take(7, 2);
    assert.equal(take(8, 1), undefined);
    assert.equal(take(8, 2), undefined);
    assert.equal(host.exited(7), 2);
    assert.deepEqual(later, [[1, true], [2, true]]);
    assert.equal(host.active('k'), 2);
    host.release(8, 1);
    host.release(8, 2);
    assert.equal(host.active('k'), 0);
    // A release of a slot long gone (the worker's answer came after its exit) changes nothing.
    host.release(7, 1);
    assert.deepEqual(take(9, 1), [1, true]);
    host.close();
  });

  it('ends a wait after waitMs with a refusal', async () => {
    const host = new SlotHost();
    const later: StoreAnswer[] = [];
    host.take(1, 1, 'k', 1, 1, 60_000, () => undefined);
    host.take(1, 2, 'k', 1, 1, 1, (a) => later.push(a));
    while (later.length === 0) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(later, [[2, false]]);
    host.close();
  });
});
