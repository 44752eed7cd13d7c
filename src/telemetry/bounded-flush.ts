/**
 * The stdout log stream's synchronous flush, bounded. sonic-boom 4 (pino's
 * destination) retries a write that failed in flushSync every 100 ms for
 * ever, whatever the error: its loop throws only on EAGAIN refused by
 * retryEAGAIN, and sleeps and retries on anything else, EPIPE included. pino
 * calls flushSync at exit, so a process whose stdout reader was gone (a
 * worker whose supervisor was killed, `portcullis start | head` once head is
 * done) and that still held lines never ended: it ran on, asleep in
 * Atomics.wait, holding its memory, for hours.
 *
 * This writes what is pending as sonic-boom's flushSync does, in order, but a
 * write that fails for good (EPIPE: nobody will read it) drops what is left at
 * once, and a reader that is there but does not take more (EAGAIN, a full
 * pipe) gets `budgetMs` before the rest is dropped too.
 */
import { fsyncSync, writeSync } from 'node:fs';

/** The fields of a sonic-boom 4 stream (utf8 mode) this reads and updates, as its own flushSync does; bounded-flush.test.ts checks them. */
interface SonicBoomState {
  fd: number;
  destroyed: boolean;
  _bufs: (string | Buffer)[];
  _writingBuf: string | Buffer;
  _writing: boolean;
  _len: number;
}

/** How long a retry after EAGAIN waits: short, a pipe's reader frees room in small steps. */
const RETRY_MS = 10;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Writes what `stream` holds; returns false when it dropped lines (the reader gone, or not reading for budgetMs). */
export function flushWithin(stream: object, budgetMs: number): boolean {
  const s = stream as SonicBoomState;
  if (s.destroyed || s.fd < 0) return true;
  // As sonic-boom's flushSync: a chunk that is not being written by an async write now goes first.
  if (!s._writing && s._writingBuf.length > 0) {
    s._bufs.unshift(s._writingBuf);
    s._writingBuf = '';
  }
  const giveUpAt = Date.now() + budgetMs;
  let buf: Buffer | undefined;
  while (s._bufs.length > 0) {
    if (buf === undefined) {
      const head = s._bufs[0]!;
      buf = typeof head === 'string' ? Buffer.from(head, 'utf8') : head;
    }
    try {
      const n = buf.length > 0 ? writeSync(s.fd, buf) : 0;
      s._len = Math.max(0, s._len - n);
      buf = buf.subarray(n);
      if (buf.length === 0) {
        s._bufs.shift();
        buf = undefined;
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'EAGAIN' || code === 'EBUSY') && Date.now() < giveUpAt) {
        Atomics.wait(sleeper, 0, 0, RETRY_MS);
        continue;
      }
      s._bufs = [];
      s._len = 0;
      return false;
    }
  }
  try {
    // As sonic-boom: a regular file's lines reach the disk; a pipe refuses fsync, which is fine.
    fsyncSync(s.fd);
  } catch {
    // not a file
  }
  return true;
}
