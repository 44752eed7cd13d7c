/**
 * The exchange's two timers, armed without a closure per request
 * (setTimeout passes the exchange to a module-level function).
 *
 * - the response timer, timeouts.response: our own, since undici's headers
 *   timeout runs on its coarse timer wheel (a 200 ms timeout fires after ~1 s),
 *   too coarse for a gateway;
 * - the stall timer, timeouts.idle while the client takes no more of the
 *   response (backpressure): undici stops its idle timer while paused, so
 *   without it a client that never reads would hold the upstream request, and
 *   one of the target's connections, for ever.
 */

export interface Timed {
  responseTimer: NodeJS.Timeout | undefined;
  stallTimer: NodeJS.Timeout | undefined;
  /** timeouts.response ran out before the response head. */
  responseTimedOut(): void;
  /** The client read nothing of the response for timeouts.idle. */
  clientStalled(): void;
}

function fireResponse(x: Timed): void {
  x.responseTimer = undefined;
  x.responseTimedOut();
}

function fireStall(x: Timed): void {
  x.stallTimer = undefined;
  x.clientStalled();
}

export function startResponseTimer(x: Timed, ms: number): void {
  x.responseTimer = setTimeout(fireResponse, ms, x);
}

export function stopResponseTimer(x: Timed): void {
  if (x.responseTimer === undefined) return;
  clearTimeout(x.responseTimer);
  x.responseTimer = undefined;
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
