/**
 * Overload protection: when the event loop lags past max_event_loop_delay,
 * or max_in_flight requests are already in progress, new requests are shed
 * with 503 and Retry-After before they cost any work (no routing, no
 * policies, no upstream). Lag is seen two ways. A heartbeat timer that
 * finds it ran later than the threshold knows the loop was just blocked:
 * the requests that queued up meanwhile (handled right after the timers)
 * are shed for a short moment. The event loop delay histogram (perf_hooks),
 * sampled every 250 ms, sees lag that lasts (two samples in a row over the
 * threshold) and keeps shedding for a second after it. So a single stall (a
 * GC pause, a reload) sheds only its backlog. Recovery is automatic; each
 * episode is logged once when it starts and once when it ends. The
 * counters are read at each scrape by the metrics (portcullis_shed_requests_total,
 * portcullis_in_flight_requests, portcullis_event_loop_lag_seconds).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { RuntimeSettings } from '../snapshot.js';

const HEARTBEAT_MS = 20;
const SAMPLE_MS = 250;
/** After lasting lag, keep shedding at least this long, so the backlog drains before new work is taken. */
const HOLD_MS = 1000;
/** Samples in a row over the threshold that make lag "lasting". */
const LASTING = 2;
/** After one stall, how long to shed: long enough for the backlog that queued during it. */
const STALL_HOLD_MS = 200;

export type ShedReason = 'event_loop_delay' | 'in_flight';

export class OverloadGuard {
  /** Requests in progress, all listeners together. */
  inFlight = 0;
  /** Requests shed since start, for metrics. */
  shed = 0;
  /** The largest event loop delay in the last sample, in ms, for metrics. */
  lastDelayMs = 0;
  private shedding: ShedReason | undefined;
  private shedThisEpisode = 0;
  private heartbeat = performance.now();
  private laggingUntil = 0;
  private thresholdMs = 0;
  private samplesOver = 0;
  private readonly histogram: IntervalHistogram;
  private readonly timers: NodeJS.Timeout[];

  constructor(private readonly logger: Logger) {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
    this.timers = [
      setInterval(() => this.beat(), HEARTBEAT_MS),
      setInterval(() => this.sample(), SAMPLE_MS),
    ];
    for (const t of this.timers) t.unref();
  }

  /** Whether a new request should be shed now, and why. */
  check(settings: RuntimeSettings): ShedReason | undefined {
    this.thresholdMs = settings.maxEventLoopDelayMs;
    let reason: ShedReason | undefined;
    if (settings.maxInFlight > 0 && this.inFlight >= settings.maxInFlight) reason = 'in_flight';
    else if (this.thresholdMs > 0) {
      const now = performance.now();
      if (now - this.heartbeat > this.thresholdMs || now < this.laggingUntil) reason = 'event_loop_delay';
    }
    if (reason) {
      this.shed++;
      this.shedThisEpisode++;
      if (this.shedding !== reason) {
        this.shedding = reason;
        this.logger.warn({ reason, in_flight: this.inFlight, event_loop_delay_ms: Math.round(Math.max(this.lastDelayMs, performance.now() - this.heartbeat)) }, 'overloaded: shedding new requests');
      }
    } else if (this.shedding) this.recovered();
    return reason;
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.histogram.disable();
  }

  private beat(): void {
    const now = performance.now();
    if (this.thresholdMs > 0 && now - this.heartbeat > this.thresholdMs) this.laggingUntil = Math.max(this.laggingUntil, now + STALL_HOLD_MS);
    this.heartbeat = now;
  }

  private sample(): void {
    this.lastDelayMs = this.histogram.max / 1e6;
    this.histogram.reset();
    if (this.thresholdMs > 0 && this.lastDelayMs > this.thresholdMs) {
      if (++this.samplesOver >= LASTING) this.laggingUntil = performance.now() + Math.max(HOLD_MS, this.thresholdMs);
    } else this.samplesOver = 0;
    if (this.shedding === 'event_loop_delay' && performance.now() >= this.laggingUntil && performance.now() - this.heartbeat <= this.thresholdMs) this.recovered();
  }

  private recovered(): void {
    this.logger.info({ reason: this.shedding, shed: this.shedThisEpisode }, 'overload over: accepting requests again');
    this.shedding = undefined;
    this.shedThisEpisode = 0;
  }
}
