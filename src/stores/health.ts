/**
 * Whether the store answers, as a small object the metrics read at each
 * scrape (portcullis_store_up, _outages_total, _errors_total) and the logs report
 * once per incident: one line when the store stops answering, one when it
 * answers again, never one per request.
 */
import type { Logger } from 'pino';

export type StoreState = 'up' | 'down';

/** A change of state, for the event stream (the gateway turns it into store.unavailable / store.recovered). */
export type StoreHealthChange =
  | { readonly kind: string; readonly state: 'down'; readonly error: string }
  | { readonly kind: string; readonly state: 'up'; readonly downMs: number; readonly failedOperations: number };

export interface StoreHealthSnapshot {
  readonly kind: string;
  readonly state: StoreState;
  /** How many times the store went down since the gateway started. */
  readonly incidents: number;
  /** Operations that failed (unreachable, timed out), all incidents together. */
  readonly failedOperations: number;
  /** When the current state began (ms since the epoch). */
  readonly since: number;
  readonly lastError: string | undefined;
}

export class StoreHealth {
  state: StoreState = 'up';
  incidents = 0;
  failedOperations = 0;
  since = Date.now();
  lastError: string | undefined = undefined;
  /** Told the duration of each round trip the store answered (metrics), when set; see StoreRegistry.timing. */
  timing: ((kind: string, seconds: number) => void) | undefined = undefined;
  private failuresThisIncident = 0;
  private lastProbe = 0;
  /** Told of each change, once per incident like the log (the store registry sets it). */
  onChange: ((change: StoreHealthChange) => void) | undefined = undefined;

  constructor(
    readonly kind: string,
    private readonly logger: Logger,
    /** While down, one operation per this many ms is let through to find out whether the store is back. */
    private readonly probeIntervalMs = 200,
  ) {}

  /**
   * Whether an operation should be tried now. While the store is down, all
   * but one probe per interval fail at once, so a slow store does not make
   * every request wait for its timeout.
   */
  mayTry(): boolean {
    if (this.state === 'up') return true;
    const now = performance.now();
    if (now - this.lastProbe < this.probeIntervalMs) return false;
    this.lastProbe = now;
    return true;
  }

  succeeded(): void {
    if (this.state === 'up') return;
    const downMs = Date.now() - this.since;
    this.logger.info({ store: this.kind, down_ms: downMs, failed_operations: this.failuresThisIncident }, 'store recovered');
    this.onChange?.({ kind: this.kind, state: 'up', downMs, failedOperations: this.failuresThisIncident });
    this.state = 'up';
    this.since = Date.now();
    this.failuresThisIncident = 0;
  }

  /** An operation failed: the store is down (logged if it just went). */
  failed(err: unknown): void {
    this.failedOperations++;
    this.failuresThisIncident++;
    this.connectionLost(err);
  }

  /** The connection reported an error (each reconnection attempt does): down, without counting an operation. */
  connectionLost(err: unknown): void {
    this.lastError = describe(err);
    if (this.state === 'down') return;
    this.state = 'down';
    this.incidents++;
    this.since = Date.now();
    this.lastProbe = performance.now();
    this.logger.warn({ store: this.kind, err: this.lastError }, 'store unavailable: limits follow each policy\'s fail mode until it answers again');
    this.onChange?.({ kind: this.kind, state: 'down', error: this.lastError });
  }

  snapshot(): StoreHealthSnapshot {
    return {
      kind: this.kind,
      state: this.state,
      incidents: this.incidents,
      failedOperations: this.failedOperations,
      since: this.since,
      lastError: this.lastError,
    };
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : `${err.name}: ${err.message}`;
  return String(err);
}
