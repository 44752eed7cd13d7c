/**
 * At most `perWindow` events per source (a client address) per window, so a
 * scanner failing thousands of TLS handshakes cannot flood the event stream
 * or the SIEM behind it. The next event let through says how many of that
 * source's were left out. Memory is bounded: at most `maxSources` sources are
 * tracked in a window; past that, new sources share one bucket.
 */
export class SourceLimit {
  private windowStart = 0;
  private readonly counts = new Map<string, { sent: number; suppressed: number }>();

  constructor(
    private readonly perWindow = 5,
    private readonly windowMs = 10_000,
    private readonly maxSources = 10_000,
  ) {}

  /** undefined: leave this one out; a number: send it, saying how many were left out before it. */
  take(source: string, now = Date.now()): number | undefined {
    if (now - this.windowStart >= this.windowMs) {
      // Sources that were cut off in the last window keep their count, so the next event says so.
      for (const [key, entry] of this.counts) {
        if (entry.suppressed === 0) this.counts.delete(key);
        else entry.sent = 0;
      }
      this.windowStart = now;
    }
    const key = this.counts.has(source) || this.counts.size < this.maxSources ? source : '*';
    let entry = this.counts.get(key);
    if (!entry) this.counts.set(key, (entry = { sent: 0, suppressed: 0 }));
    if (entry.sent >= this.perWindow) {
      entry.suppressed++;
      return undefined;
    }
    entry.sent++;
    const suppressed = entry.suppressed;
    entry.suppressed = 0;
    return suppressed;
  }
}
