/**
 * Deadlines of one length (a service's timeouts.response) kept in one list,
 * with one Node timer for the whole list instead of a setTimeout and a
 * clearTimeout per request. Every entry of a list waits the same time, so
 * appending keeps the list in deadline order: arming is a push at the tail,
 * disarming an unlink, and the timer only ever waits for the head. Nearly
 * every request disarms its deadline long before it is due (the response
 * head arrives), so the timer mostly wakes to find the head still early and
 * sleeps again: one wake-up per `ms` for the whole list, not one timer per
 * request. This is what Node's own timer lists do underneath, without a
 * Timeout object, an async id and a list lookup per request.
 *
 * The entries are the callers' own objects (the upstream exchange), linked
 * through fields of their own: nothing is allocated per request.
 */

/** An object that can wait in a DeadlineList (its fields belong to the list). */
export interface Deadline {
  /** The list it waits in, while armed. */
  deadlineList: DeadlineList | undefined;
  deadlinePrev: Deadline | undefined;
  deadlineNext: Deadline | undefined;
  /** When it is due, on performance.now()'s clock. */
  deadlineAt: number;
  /** Called once when the deadline passes while armed (disarmed first). */
  deadlinePassed(): void;
}

/** Node's longest timer: a longer one fires at once (with a warning). The list waits in steps of this. */
const LONGEST_WAIT_MS = 2 ** 31 - 1;

export class DeadlineList {
  private head: Deadline | undefined = undefined;
  private tail: Deadline | undefined = undefined;
  private timer: NodeJS.Timeout | undefined = undefined;
  /** expire() is running: it sets the timer for the head once done. */
  private expiring = false;
  private readonly fire = (): void => this.expire();

  constructor(
    /** How long every entry waits. */
    readonly ms: number,
  ) {}

  /** Arms `x` to be due `ms` from `now` (re-arms it if it was armed). */
  arm(x: Deadline, now: number = performance.now()): void {
    if (x.deadlineList !== undefined) x.deadlineList.disarm(x);
    x.deadlineAt = now + this.ms;
    x.deadlineList = this;
    x.deadlineNext = undefined;
    x.deadlinePrev = this.tail;
    if (this.tail === undefined) this.head = x;
    else this.tail.deadlineNext = x;
    this.tail = x;
    // A timer already waiting is due no later than this entry: the list is in deadline order.
    if (this.timer === undefined && !this.expiring) this.wait(this.ms);
  }

  /** Takes `x` out of the list, if it is in it. The timer is left: it finds the head later and waits again. */
  disarm(x: Deadline): void {
    if (x.deadlineList !== this) return;
    const { deadlinePrev: prev, deadlineNext: next } = x;
    if (prev === undefined) this.head = next;
    else prev.deadlineNext = next;
    if (next === undefined) this.tail = prev;
    else next.deadlinePrev = prev;
    x.deadlineList = undefined;
    x.deadlinePrev = undefined;
    x.deadlineNext = undefined;
  }

  /** Armed entries (for tests and diagnostics). */
  get size(): number {
    let n = 0;
    for (let x = this.head; x !== undefined; x = x.deadlineNext) n++;
    return n;
  }

  private wait(ms: number): void {
    // unref: a deadline alone does not keep the process running (the request it guards does).
    this.timer = setTimeout(this.fire, Math.min(LONGEST_WAIT_MS, Math.max(1, Math.ceil(ms))));
    this.timer.unref();
  }

  private expire(): void {
    this.timer = undefined;
    this.expiring = true;
    const now = performance.now();
    try {
      for (let x = this.head; x !== undefined && x.deadlineAt <= now; x = this.head) {
        this.disarm(x);
        // One that arms again (a retry) goes to the tail, due after now: the loop stops there.
        x.deadlinePassed();
      }
    } finally {
      // Even if a callback threw, the rest of the list keeps its timer.
      this.expiring = false;
      if (this.head !== undefined) this.wait(this.head.deadlineAt - now);
    }
  }
}
