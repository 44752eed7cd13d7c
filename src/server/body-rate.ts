/**
 * Slow POST protection: while the gateway is waiting for a request body
 * (the body is being consumed and nothing of it is buffered), the client
 * must keep up `min_body_rate` bytes per second, averaged over
 * `body_rate_window`. Time the gateway itself is not reading (a policy is
 * deciding, the upstream applies backpressure, 100-continue not yet sent)
 * does not count against the client. One timer serves every watched request.
 */
import type { IncomingMessage } from 'node:http';

const TICK_MS = 250;

interface Watch {
  readonly req: IncomingMessage;
  readonly minRate: number;
  readonly windowMs: number;
  readonly onSlow: () => void;
  lastBytes: number;
  waitedMs: number;
  bytes: number;
}

export class BodyRateGuard {
  private readonly watched = new Set<Watch>();
  private timer: NodeJS.Timeout | undefined;
  private last = performance.now();
  /** Requests cut off for sending their body too slowly, since start. */
  cutOff = 0;

  /** Watches a request with a body until it has arrived whole; `onSlow` runs at most once. */
  watch(req: IncomingMessage, minRate: number, windowMs: number, onSlow: () => void): void {
    if (minRate <= 0 || windowMs <= 0 || req.complete) return;
    this.watched.add({ req, minRate, windowMs, onSlow, lastBytes: req.socket.bytesRead, waitedMs: 0, bytes: 0 });
    if (!this.timer) {
      this.last = performance.now();
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }

  private tick(): void {
    const now = performance.now();
    const elapsed = now - this.last;
    this.last = now;
    for (const w of this.watched) {
      const req = w.req;
      if (req.complete || req.destroyed || req.socket.destroyed) {
        this.watched.delete(w);
        continue;
      }
      const bytes = req.socket.bytesRead;
      const arrived = bytes - w.lastBytes;
      w.lastBytes = bytes;
      // Waiting on the client: someone is reading the body and nothing is left unread.
      if (req.readableFlowing !== true || req.readableLength > 0) continue;
      w.waitedMs += elapsed;
      w.bytes += arrived;
      if (w.waitedMs < w.windowMs) continue;
      if ((w.bytes * 1000) / w.waitedMs < w.minRate) {
        this.watched.delete(w);
        this.cutOff++;
        w.onSlow();
      } else {
        w.waitedMs = 0;
        w.bytes = 0;
      }
    }
    if (this.watched.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
