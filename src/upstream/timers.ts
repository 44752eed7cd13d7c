/**
 * The exchange's two timers, armed without a closure per request.
 *
 * - the response timer, timeouts.response: our own, since undici's headers
 *   timeout runs on its coarse timer wheel (a 200 ms timeout fires after ~1 s),
 *   too coarse for a gateway. Every request has one, so it is a place in the
 *   service's DeadlineList (deadlines.ts), not a Node timer of its own;
 * - the stall timer, timeouts.idle while the client takes no more of the
 *   response (backpressure): undici stops its idle timer while paused, so
 *   without it a client that never reads would hold the upstream request, and
 *   one of the target's connections, for ever.
 */
import type { Deadline, DeadlineList } from './deadlines.js';

/** The response timer is the Deadline: its deadlinePassed() is timeouts.response running out before the response head. */
export interface Timed extends Deadline {
  stallTimer: NodeJS.Timeout | undefined;
  /** The client read nothing of the response for timeouts.idle. */
  clientStalled(): void;
}

function fireStall(x: Timed): void {
  x.stallTimer = undefined;
  x.clientStalled();
}

/** Arms (or re-arms) the response timer: `list` is the service's, `now` performance.now() when the caller has it. */
export function startResponseTimer(x: Timed, list: DeadlineList, now?: number): void {
  list.arm(x, now);
}

export function stopResponseTimer(x: Timed): void {
  x.deadlineList?.disarm(x);
}

export function responseTimerArmed(x: Timed): boolean {
  return x.deadlineList !== undefined;
}

/** Starts the stall timer unless it runs already. */
export function startStallTimer(x: Timed, ms: number): void {
  x.stallTimer ??= setTimeout(fireStall, ms, x);
}

export function stopStallTimer(x: Timed): void {
  if (x.stallTimer === undefined) return;
  clearTimeout(x.stallTimer);
  x.stallTimer = undefined;
}
