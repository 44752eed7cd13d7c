/**
 * The last stage of an upstream body's way to the client when a policy
 * inspects responses (the waf's CRS response phases): it keeps the first
 * `limit` bytes (or the whole body when it is shorter), then asks `release`
 * once. `release` writes a head, the upstream's or a refusal's, and answers
 * with the refusal's body, which then replaces the rest (the upstream's bytes
 * are read and dropped), or undefined to let the kept bytes and the rest
 * through unchanged. The memory held is bounded by `limit` plus one chunk.
 */
import { Transform, type TransformCallback } from 'node:stream';

export type Release = (prefix: Buffer, complete: boolean) => Buffer | undefined;

export class HeldResponse extends Transform {
  private chunks: Buffer[] = [];
  private size = 0;
  private state: 'holding' | 'passing' | 'refused' = 'holding';

  constructor(
    private readonly limit: number,
    private readonly release: Release,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.state === 'passing') return done(null, chunk);
    if (this.state === 'refused') return done();
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size >= this.limit) this.decide(false);
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.state === 'holding') this.decide(true);
    done();
  }

  private decide(complete: boolean): void {
    const kept = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    const refusal = this.release(kept, complete);
    if (refusal === undefined) {
      this.state = 'passing';
      if (kept.length > 0) this.push(kept);
      return;
    }
    this.state = 'refused';
    if (refusal.length > 0) this.push(refusal);
    this.push(null);
  }
}
