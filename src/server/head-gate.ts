/**
 * The last stage of an upstream body's way to the client while the route's
 * asynchronous response hooks (a function's response hook) shape its head:
 * the body waits here until `ready` settles, which writes the head. `ready`
 * answers undefined to let the body through, or the bytes to send in its
 * place (an error's body, its head written instead; the upstream's bytes are
 * then read and dropped). Nothing is buffered beyond one chunk: the upstream
 * is held back meanwhile.
 */
import { Transform, type TransformCallback } from 'node:stream';

export class HeadGate extends Transform {
  private state: 'waiting' | 'passing' | 'replaced' = 'waiting';

  constructor(private readonly ready: Promise<Buffer | undefined>) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.state === 'passing') return done(null, chunk);
    if (this.state === 'replaced') return done();
    void this.ready.then((replacement) => {
      this.settle(replacement);
      if (this.state === 'passing') done(null, chunk);
      else done();
    });
  }

  override _flush(done: TransformCallback): void {
    if (this.state !== 'waiting') return done();
    void this.ready.then((replacement) => {
      this.settle(replacement);
      done();
    });
  }

  private settle(replacement: Buffer | undefined): void {
    if (this.state !== 'waiting') return;
    if (replacement === undefined) {
      this.state = 'passing';
      return;
    }
    this.state = 'replaced';
    if (replacement.length > 0) this.push(replacement);
    this.push(null);
  }
}
