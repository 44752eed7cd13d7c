/**
 * One log stream per node: every worker writes its log and access lines to
 * a pipe of its own, and the supervisor copies them to its own stdout (or
 * stderr) whole lines at a time, so lines of two workers never interleave
 * mid-line, whatever the size of a line or of a pipe write. A worker whose
 * output the supervisor cannot pass on fast enough is paused (its pipe fills
 * and its own writes wait), rather than the supervisor buffering without end.
 */
import type { Readable, Writable } from 'node:stream';

/** A longer line is passed on in pieces of this size, each ended with a newline (never mixed with another's). */
export const MAX_LINE = 1024 * 1024;

export function relayLines(from: Readable, to: Writable): void {
  let rest: Buffer = Buffer.alloc(0);
  const write = (chunk: Buffer) => {
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  };
  from.on('data', (chunk: Buffer) => {
    const data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    const end = data.lastIndexOf(0x0a);
    if (end === -1) {
      rest = data;
    } else {
      if (end + 1 < data.length) rest = Buffer.from(data.subarray(end + 1));
      else rest = Buffer.alloc(0);
      write(data.subarray(0, end + 1));
    }
    while (rest.length >= MAX_LINE) {
      write(Buffer.concat([rest.subarray(0, MAX_LINE), Buffer.from('\n')]));
      rest = Buffer.from(rest.subarray(MAX_LINE));
    }
  });
  // A worker that died mid-line: what it wrote still comes out, as a line of its own.
  from.on('end', () => {
    if (rest.length > 0) write(Buffer.concat([rest, Buffer.from('\n')]));
    rest = Buffer.alloc(0);
  });
}
