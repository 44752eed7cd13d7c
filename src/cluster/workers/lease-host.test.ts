import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { MemoryStore } from '../../stores/memory.js';
import { LeaseHost, MAX_LEASE, type LeasedDecision } from './lease-host.js';
import type { StoreAnswer, ToWorker } from './protocol.js';

const logger = pino({ level: 'silent' });
const limits = [{ limit: 100, windowMs: 3_600_000 }];

/** A host over a real memory store; recalls are recorded, as the supervisor would send them. */
function setup(): { host: LeaseHost; store: MemoryStore; recalls: Array<{ worker: number; message: ToWorker }>; later: StoreAnswer[] } {
  const store = new MemoryStore({ maxKeys: 1000 }, logger);
  const recalls: Array<{ worker: number; message: ToWorker }> = [];
  const host = new LeaseHost(store, 's', (worker, message) => recalls.push({ worker, message }));
  return { host, store, recalls, later: [] };
}

const decision = (a: StoreAnswer | undefined) => a![1] as LeasedDecision;

describe('rate-limit leases, the supervisor\'s side (LeaseHost)', () => {
  it('lends part of what remains while far from the limit, counted at once, and takes back what was not used', () => {
    const { host, store, later } = setup();
    const d = decision(host.hit(1, 1, 'k', limits, true, 1, null, (a) => later.push(a)));
    assert.equal(d.allowed, true);
    const [, units] = d.lease!;
    assert.equal(units, Math.min(MAX_LEASE, Math.floor(99 / 8)), 'an eighth of what remained');
    // The lent units are already counted: the store itself sees 1 + 12 used.
    assert.equal(store.hitWindows('k', limits, true, 1, false).remaining[0], 100 - 1 - units - 1);
    host.returned(1, d.lease![0], units);
    assert.equal(store.hitWindows('k', limits, true, 1, false).remaining[0], 100 - 1 - 1 - 1, 'the unused units came back');
    assert.equal(host.outstanding('k'), 0);
    host.close();
  });

  it('recalls every lease on a key before refusing anyone, then decides the waiting request', () => {
    const { host, recalls, later } = setup();
    const small = [{ limit: 40, windowMs: 3_600_000 }];
    const a = decision(host.hit(1, 1, 'k', small, false, 1, null, (x) => later.push(x)));
    const b = decision(host.hit(2, 1, 'k', small, false, 1, null, (x) => later.push(x)));
    const lentA = a.lease![1];
    const lentB = b.lease![1];
    assert.ok(lentA >= 2 && lentB >= 2, 'both workers hold a lease');
    // Worker 2 uses up the rest by asking; worker 1 keeps its lease unused.
    let admitted = 2;
    let id = 2;
    for (;;) {
      const answer = host.hit(2, id++, 'k', small, false, 1, null, (x) => later.push(x));
      if (!answer) break;
      assert.equal(decision(answer).allowed, true);
      admitted++;
    }
    assert.ok(recalls.some((r) => r.worker === 1 && r.message.t === 'lease-recall'), 'worker 1 was asked for its lease back');
    // Worker 1 used none of its lease, worker 2 all of its own.
    for (const r of recalls) if (r.message.t === 'lease-recall') for (const lid of r.message.ids) host.returned(r.worker, lid, r.worker === 1 ? lentA : 0);
    assert.ok(later.length >= 1, 'the waiting request was decided once the lease came back');
    for (const x of later) if (decision(x).allowed) admitted++;
    for (;;) {
      const answer = host.hit(2, id++, 'k', small, false, 1, null, (x) => later.push(x));
      assert.ok(answer, 'no lease is out: nothing waits');
      if (!decision(answer).allowed) break;
      admitted++;
    }
    // Worker 2 used all of its lease; worker 1's came back whole: exactly the limit, with 1 of the answers refused.
    assert.equal(admitted + lentB, 40);
    host.close();
  });

  it('forfeits the leases of a worker that exits: its units stay counted (fewer admitted, never more)', () => {
    const { host, store, later } = setup();
    const d = decision(host.hit(3, 1, 'k', limits, false, 1, null, (x) => later.push(x)));
    const units = d.lease![1];
    host.exited(3);
    assert.equal(host.outstanding('k'), 0);
    host.returned(3, d.lease![0], units);
    assert.equal(store.hitWindows('k', limits, false, 1, false).remaining[0], 100 - 1 - units - 1, 'a late give-back of a forfeited lease is ignored');
    host.close();
  });

  it('requests wait while a recall is out; a worker that exits ends it, and its unused units are lost, never added', () => {
    const { host, later, recalls } = setup();
    const small = [{ limit: 20, windowMs: 3_600_000 }];
    const a = decision(host.hit(1, 1, 'k', small, false, 1, null, (x) => later.push(x)));
    const lentA = a.lease![1];
    let admitted = 1;
    let lentB = 0;
    let id = 1;
    for (;;) {
      const answer = host.hit(2, id++, 'k', small, false, 1, null, (x) => later.push(x));
      if (!answer) break;
      admitted++;
      lentB += decision(answer).lease?.[1] ?? 0;
    }
    assert.ok(recalls.length > 0, 'near the limit, the leases were called back');
    assert.equal(later.length, 0, 'the next request waits for the recall');
    // Worker 2 gives its own lease back, all used: the recall still waits for worker 1.
    for (const r of recalls) if (r.worker === 2 && r.message.t === 'lease-recall') for (const lid of r.message.ids) host.returned(2, lid, 0);
    assert.equal(later.length, 0, 'still waiting for worker 1');
    host.exited(1);
    assert.equal(later.length, 1, 'decided once the holder was gone');
    for (const x of later) if (decision(x).allowed) admitted++;
    for (;;) {
      const answer = host.hit(2, id++, 'k', small, false, 1, null, (x) => later.push(x));
      if (!answer || !decision(answer).allowed) break;
      admitted++;
    }
    // Worker 1 used none of its lease and was killed holding it: exactly those units are lost.
    assert.equal(admitted + lentB, 20 - lentA);
    host.close();
  });
  it('renews a lease before it runs out: a lease of its own, up to MAX_LEASE held in all, one at a time, none during a recall', () => {
    const { host, store, later } = setup();
    const big = [{ limit: 1_000_000, windowMs: 3_600_000 }];
    const first = decision(host.hit(1, 1, 'k', big, false, 1, null, (x) => later.push(x))).lease!;
    assert.equal(first[1], MAX_LEASE);
    // The worker used 75 of them and holds 25: the renewal tops it up to MAX_LEASE, no more.
    const renewal = host.renew(1, 'k', big, false, first[0], 25, []);
    assert.ok(renewal);
    assert.equal(renewal.lease[1], MAX_LEASE - 25);
    assert.notEqual(renewal.lease[0], first[0], 'a lease of its own');
    assert.equal(renewal.remaining[0], 1_000_000 - 1 - MAX_LEASE - (MAX_LEASE - 25), 'counted at once');
    assert.equal(host.outstanding('k'), 2);
    // A second renewal of the same (no longer newest) lease is refused: one at a time.
    assert.equal(host.renew(1, 'k', big, false, first[0], 25, []), null);
    // The next renewal gives the spent first lease back with it (0 unused): nothing is credited, the lease is gone.
    const next = host.renew(1, 'k', big, false, renewal.lease[0], 20, [[first[0], 0]]);
    assert.ok(next);
    assert.equal(next.lease[1], MAX_LEASE - 20);
    assert.equal(host.outstanding('k'), 2);
    // Unused units of a renewal's lease come back like any lease's.
    host.returned(1, next.lease[0], next.lease[1]);
    host.returned(1, renewal.lease[0], 0);
    assert.equal(store.hitWindows('k', big, false, 0, false).remaining[0], 1_000_000 - 1 - MAX_LEASE - (MAX_LEASE - 25));
    host.close();
  });

  it('refuses a renewal near the limit (and calls the leases back) or while a recall is out', () => {
    const { host, recalls, later } = setup();
    const small = [{ limit: 40, windowMs: 3_600_000 }];
    const a = decision(host.hit(1, 1, 'k', small, false, 1, null, (x) => later.push(x))).lease!;
    // Another worker uses the rest by asking, until less remains than is lent out.
    for (let id = 2; recalls.length === 0 && id < 100; id++) host.hit(2, id, 'k', small, false, 1, null, (x) => later.push(x));
    assert.ok(recalls.length > 0, 'the lease was called back');
    assert.equal(host.renew(1, 'k', small, false, a[0], 1, []), null, 'no renewal while a recall is out');
    host.close();
  });
});
