/**
 * A circuit breaker for one target. Closed: requests flow, consecutive
 * failures are counted. Open: the target is skipped until open_for passes.
 * Half-open: exactly one probe request is let through; its outcome closes or
 * reopens the circuit.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerSettings {
  failures: number;
  openForMs: number;
}

export class Breaker {
  state: BreakerState = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;
  private probeInFlight = false;

  constructor(
    private readonly settings: BreakerSettings,
    private readonly onChange: (from: BreakerState, to: BreakerState) => void,
  ) {}

  /** May a request go to this target now? Claims the probe slot when half-open. */
  allow(now: number): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (now - this.openedAt < this.settings.openForMs) return false;
      this.move('half-open');
    }
    if (this.probeInFlight) return false;
    this.probeInFlight = true;
    return true;
  }

  /** Would allow() say yes, without claiming anything? For picking among targets. */
  isAvailable(now: number): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') return now - this.openedAt >= this.settings.openForMs;
    return !this.probeInFlight;
  }

  success(): void {
    this.consecutiveFailures = 0;
    if (this.state !== 'closed') {
      this.probeInFlight = false;
      this.move('closed');
    }
  }

  failure(now: number): void {
    if (this.state === 'half-open') {
      this.probeInFlight = false;
      this.open(now);
      return;
    }
    if (this.state === 'closed' && ++this.consecutiveFailures >= this.settings.failures) this.open(now);
  }

  /** A request that neither succeeded nor failed (client went away) frees the probe slot. */
  release(): void {
    this.probeInFlight = false;
  }

  private open(now: number): void {
    this.openedAt = now;
    this.consecutiveFailures = 0;
    this.move('open');
  }

  private move(to: BreakerState): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    this.onChange(from, to);
  }
}
