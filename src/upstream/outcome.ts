/**
 * Passive health and circuit breaking, as the exchange records them: each
 * attempt's outcome is recorded once against its target (a response, an
 * accepted upgrade, a connect failure or a timeout); an attempt the client
 * abandoned before any outcome gives its breaker probe back.
 */
import type { Classified } from './retry.js';
import type { Service } from './service.js';
import type { Target } from './target.js';

export interface Attempted {
  readonly service: Service;
  /** The target of the current attempt. */
  target: Target | undefined;
  /** The current attempt's outcome is recorded. */
  outcomeRecorded: boolean;
}

/** A response head: a failure when its status counts as one (health.passive), else a success. */
export function recordStatus(x: Attempted, status: number): void {
  x.outcomeRecorded = true;
  if (x.service.isFailureStatus(status)) x.service.failed(x.target!, `status ${status}`);
  else x.service.succeeded(x.target!);
}

/** The upstream accepted a WebSocket handshake. */
export function recordUpgrade(x: Attempted): void {
  x.outcomeRecorded = true;
  x.service.succeeded(x.target!);
}

/** A failed attempt: connect failures and timeouts count against the target, other errors do not. */
export function recordError(x: Attempted, classified: Classified): void {
  if (x.outcomeRecorded || classified.kind === 'other') return;
  x.outcomeRecorded = true;
  x.service.failed(x.target!, classified.code);
}

/** The client went away before the attempt had an outcome: no verdict on the target. */
export function recordAbandoned(x: Attempted): void {
  if (x.target && !x.outcomeRecorded) x.target.breaker?.release();
}
