/**
 * Streams bytes no faster than a shared byte bucket allows, without holding
 * more than one chunk: a chunk is passed on in slices as tokens accrue, and
 * the next chunk is not taken until this one is through, so backpressure
 * reaches the sender (the client for uploads, the upstream for downloads).
 * Tokens accrue by elapsed time, so a late timer is made up for (up to the
 * burst), which keeps the average rate right on a busy machine.
 */
import { Transform, type TransformCallback } from 'node:stream';

export class ByteBucket {
  private tokens: number;
  private last = performance.now();
  /** Streams using this bucket now; an idle full bucket can be forgotten. */
  users = 0;

  constructor(
    /** Bytes per millisecond. */
    readonly rate: number,
    readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes up to `want` bytes' worth of tokens; returns how many it got (maybe 0). */
  take(want: number): number {
    this.refill();
    const granted = Math.min(want, Math.floor(this.tokens));
    this.tokens -= granted;
    return granted;
  }

  /** Milliseconds until `bytes` tokens will be there. */
  waitFor(bytes: number): number {
    this.refill();
    return Math.max(1, Math.ceil((Math.min(bytes, this.burst) - this.tokens) / this.rate));
  }

  get full(): boolean {
    this.refill();
    return this.tokens >= this.burst;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.rate);
    this.last = now;
  }
}

/** How long a throttled stream sleeps at most between slices: small enough to stay smooth. */
const SLICE_MS = 50;

export class Throttle extends Transform {
  private timer: NodeJS.Timeout | undefined;
  private readonly slice: number;

  constructor(private readonly bucket: ByteBucket) {
    super();
    bucket.users++;
    this.slice = Math.max(1, Math.min(bucket.burst, Math.floor(bucket.rate * SLICE_MS)));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.feed(chunk, 0, done);
  }

  private feed(chunk: Buffer, offset: number, done: TransformCallback): void {
    this.timer = undefined;
    while (offset < chunk.length) {
      const granted = this.bucket.take(chunk.length - offset);
      if (granted === 0) {
        this.timer = setTimeout(() => this.feed(chunk, offset, done), this.bucket.waitFor(Math.min(this.slice, chunk.length - offset)));
        return;
      }
      this.push(chunk.subarray(offset, offset + granted));
      offset += granted;
    }
    done();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.timer) clearTimeout(this.timer);
    this.bucket.users--;
    callback(err);
  }

  override _flush(callback: TransformCallback): void {
    callback();
  }
}
