import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineList, type Deadline } from './deadlines.js';

/** A list entry that records when its deadline passed, as the upstream exchange does. */
class Entry implements Deadline {
  deadlineList: DeadlineList | undefined = undefined;
  deadlinePrev: Deadline | undefined = undefined;
  deadlineNext: Deadline | undefined = undefined;
  deadlineAt = 0;
  passed = 0;

  constructor(
    readonly name: string,
    private readonly log: string[],
    private readonly onPass?: () => void,
  ) {}

  deadlinePassed(): void {
    this.passed++;
    this.log.push(this.name);
    this.onPass?.();
  }
}

/**
 * Resolves once `entry`'s deadline passed. The list's timer is unref'd (a deadline alone
 * keeps no process alive), so a generous ref'd give-up timer keeps this test's loop running.
 */
function passedOf(entry: Entry, log: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const giveUp = setTimeout(() => reject(new Error(`${entry.name} never passed; log: ${log.join(',')}`)), 60_000);
    const poll = setInterval(() => {
      if (entry.passed > 0) {
        clearInterval(poll);
        clearTimeout(giveUp);
        resolve();
      }
    }, 2);
  });
}

describe('DeadlineList: one timer for every deadline of one length', () => {
  it('calls an armed entry once its time has passed, and takes it out of the list', async () => {
    const log: string[] = [];
    const list = new DeadlineList(5);
    const a = new Entry('a', log);
    list.arm(a);
    assert.equal(list.size, 1);
    await passedOf(a, log);
    assert.deepEqual(log, ['a']);
    assert.equal(a.deadlineList, undefined);
    assert.equal(list.size, 0);
  });

  it('never calls a disarmed entry, and calls the others in the order they were armed', async () => {
    const log: string[] = [];
    const list = new DeadlineList(5);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => new Entry(n, log));
    for (const e of [a!, b!, c!, d!]) list.arm(e);
    list.disarm(a!); // the head
    list.disarm(c!); // the middle
    assert.equal(list.size, 2);
    // d was armed last, so it is due last: once it passed, every other deadline has too.
    await passedOf(d!, log);
    assert.deepEqual(log, ['b', 'd']);
    assert.equal(a!.passed + c!.passed, 0);
  });

  it('keeps an entry armed twice in the list once, due from the second arming', async () => {
    const log: string[] = [];
    const list = new DeadlineList(5);
    const a = new Entry('a', log);
    const b = new Entry('b', log);
    list.arm(a);
    list.arm(b);
    list.arm(a); // re-armed: now after b
    assert.equal(list.size, 2);
    await passedOf(a, log);
    assert.deepEqual(log, ['b', 'a']);
  });

  it('disarming an entry of another list, or one not armed, changes nothing', () => {
    const log: string[] = [];
    const one = new DeadlineList(60_000);
    const other = new DeadlineList(60_000);
    const a = new Entry('a', log);
    const b = new Entry('b', log);
    one.arm(a);
    other.disarm(a);
    one.disarm(b);
    assert.equal(one.size, 1);
    assert.equal(a.deadlineList, one);
    one.disarm(a);
    one.disarm(a);
    assert.equal(one.size, 0);
  });

  it('an entry armed again from its own callback (a retry) passes again later', async () => {
    const log: string[] = [];
    const list = new DeadlineList(5);
    let retried = false;
    const a: Entry = new Entry('a', log, () => {
      if (retried) return;
      retried = true;
      list.arm(a);
    });
    const b = new Entry('b', log);
    list.arm(a);
    list.arm(b);
    await passedOf(b, log);
    const done = new Promise<void>((resolve, reject) => {
      const giveUp = setTimeout(() => reject(new Error(`a passed ${a.passed} times; log: ${log.join(',')}`)), 60_000);
      const poll = setInterval(() => {
        if (a.passed === 2) {
          clearInterval(poll);
          clearTimeout(giveUp);
          resolve();
        }
      }, 2);
    });
    await done;
    assert.deepEqual(log, ['a', 'b', 'a']);
    assert.equal(list.size, 0);
  });

  it('serves many entries armed and disarmed in turn, as requests come and go', async () => {
    const log: string[] = [];
    const list = new DeadlineList(5);
    const entries = Array.from({ length: 100 }, (_, i) => new Entry(String(i), log));
    for (const e of entries) list.arm(e);
    for (let i = 0; i < entries.length; i += 2) list.disarm(entries[i]!);
    assert.equal(list.size, 50);
    await passedOf(entries[99]!, log);
    assert.deepEqual(
      log,
      entries.filter((_, i) => i % 2 === 1).map((e) => e.name),
    );
  });
});
