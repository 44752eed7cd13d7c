/**
 * A sink's disk spool: where encoded records wait, in order, while the
 * receiver is away, and across restarts.
 *
 * Layout: append-only segment files `<12-digit sequence>.seg` in the spool
 * folder, one record per line (each record JSON-encoded as a string, so a
 * record may hold any character), and a `cursor` file naming the first record
 * not yet delivered (segment and byte offset). Appends go to the newest
 * segment; a segment past SEGMENT_BYTES is closed and a new one started; a
 * segment read to its end and confirmed is deleted. Nothing is rewritten in
 * place, so a crash leaves at worst a torn last line (skipped on read).
 *
 * fsync policy: the spool is for receiver outages and gateway restarts, which
 * the kernel's page cache survives; fsync only adds protection against the
 * machine itself going down. A segment is fdatasync'd when it is closed, at
 * shutdown, and at most once a second while records are being appended, so a
 * power loss can cost at most the last second of spooled records, and an
 * outage with heavy traffic does not turn into one disk flush per batch. The
 * cursor is replaced by rename (atomic) without fsync: a cursor lost with the
 * power points earlier, which repeats records rather than losing them.
 *
 * All methods are called by one delivery loop at a time (sinks/delivery.ts),
 * never concurrently; none is on the request path.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

const SEGMENT_BYTES = 8 * 1024 * 1024;
const SYNC_INTERVAL_MS = 1000;
const NAME = /^(\d{12})\.seg$/;

interface Position {
  readonly segment: number;
  readonly offset: number;
}

export interface SpoolRead {
  readonly units: string[];
  /** Where reading continues once these are confirmed. */
  readonly next: Position;
  readonly bytes: number;
}

export class DiskSpool {
  private segments: number[] = [];
  private cursor: Position;
  private writer: FileHandle | undefined;
  private writerSegment = -1;
  private writerBytes = 0;
  private lastSync = 0;
  private unsynced = false;
  /** Records and bytes waiting (bytes as stored on disk, what max_size bounds). */
  count = 0;
  bytes = 0;

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {
    this.cursor = { segment: 0, offset: 0 };
  }

  /** Opens (or creates, mode 0700) a spool folder and counts what it holds from an earlier run. */
  static open(dir: string, maxBytes: number): DiskSpool {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const spool = new DiskSpool(dir, maxBytes);
    spool.segments = readdirSync(dir)
      .map((f) => NAME.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    try {
      const [segment, offset] = readFileSync(join(dir, 'cursor'), 'utf8').trim().split(' ').map(Number);
      if (Number.isSafeInteger(segment) && Number.isSafeInteger(offset)) spool.cursor = { segment: segment!, offset: offset! };
    } catch {
      // no cursor yet: start at the first segment
    }
    spool.segments = spool.segments.filter((s) => s >= spool.cursor.segment);
    if (spool.segments[0] !== spool.cursor.segment) spool.cursor = { segment: spool.segments[0] ?? 0, offset: 0 };
    for (const segment of spool.segments) {
      const text = readFileSync(spool.file(segment), 'utf8');
      const from = segment === spool.cursor.segment ? spool.cursor.offset : 0;
      const rest = Buffer.byteLength(text) - from;
      spool.bytes += rest;
      spool.count += countLines(Buffer.from(text).subarray(from));
    }
    return spool;
  }

  private file(segment: number): string {
    return join(this.dir, `${String(segment).padStart(12, '0')}.seg`);
  }

  /**
   * Appends records after everything already spooled. Returns how many fit:
   * past max_size the rest are refused (the caller counts them dropped).
   */
  async append(units: readonly string[]): Promise<number> {
    let text = '';
    let accepted = 0;
    let size = 0;
    for (const unit of units) {
      const line = JSON.stringify(unit) + '\n';
      const lineBytes = Buffer.byteLength(line);
      if (this.bytes + size + lineBytes > this.maxBytes) break;
      text += line;
      size += lineBytes;
      accepted++;
    }
    if (accepted === 0) return 0;
    if (!this.writer || this.writerBytes >= SEGMENT_BYTES) await this.startSegment();
    await this.writer!.write(text);
    this.writerBytes += size;
    this.bytes += size;
    this.count += accepted;
    this.unsynced = true;
    if (Date.now() - this.lastSync >= SYNC_INTERVAL_MS) await this.sync();
    return accepted;
  }

  private async startSegment(): Promise<void> {
    await this.closeWriter();
    const last = this.segments.at(-1);
    // A segment left by an earlier run is never appended to: its tail may be torn.
    const segment = last === undefined ? Math.max(this.cursor.segment, 1) : last + 1;
    this.writer = await open(this.file(segment), 'a', 0o600);
    this.writerSegment = segment;
    this.writerBytes = 0;
    this.segments.push(segment);
    if (this.segments.length === 1) this.cursor = { segment, offset: 0 };
  }

  /** Flushes appended records to the disk (fdatasync). */
  async sync(): Promise<void> {
    if (this.writer && this.unsynced) await this.writer.datasync();
    this.unsynced = false;
    this.lastSync = Date.now();
  }

  private async closeWriter(): Promise<void> {
    if (!this.writer) return;
    await this.sync();
    await this.writer.close();
    this.writer = undefined;
    this.writerSegment = -1;
  }

  /** The oldest records not yet confirmed, at most maxUnits and (but for the first) maxBytes; nothing is removed until commit(). */
  async read(maxUnits: number, maxBytes: number): Promise<SpoolRead> {
    const units: string[] = [];
    let { segment, offset } = this.cursor;
    let bytes = 0;
    while (units.length < maxUnits && this.segments.includes(segment)) {
      const { data, size } = await this.chunk(segment, offset, Math.max(64 * 1024, maxBytes - bytes + 1));
      let at = 0;
      while (units.length < maxUnits) {
        const end = data.indexOf(10, at);
        if (end < 0) break;
        const length = end + 1 - at;
        if (units.length > 0 && bytes + length > maxBytes) return { units, next: { segment, offset: offset + at }, bytes };
        try {
          units.push(JSON.parse(data.subarray(at, end).toString('utf8')) as string);
        } catch {
          // a damaged line: skipped rather than blocking every record behind it
        }
        bytes += length;
        at = end + 1;
      }
      const start = offset;
      offset += at;
      if (units.length >= maxUnits) return { units, next: { segment, offset }, bytes };
      if (offset < size) {
        const tornTail = start + data.length === size && !data.subarray(at).includes(10);
        if (!tornTail || segment === this.writerSegment) return { units, next: { segment, offset }, bytes };
        bytes += size - offset; // a crash mid-append left half a line: released with its segment
        offset = size;
      }
      const following = this.segments.find((s) => s > segment);
      if (following === undefined || segment === this.writerSegment) return { units, next: { segment, offset }, bytes };
      segment = following;
      offset = 0;
    }
    return { units, next: { segment, offset }, bytes };
  }

  /** Reads from a segment at offset: at least `want` bytes when there are, and always whole lines when a line is longer. */
  private async chunk(segment: number, offset: number, want: number): Promise<{ data: Buffer; size: number }> {
    const handle = await open(this.file(segment), 'r');
    try {
      const size = (await handle.stat()).size;
      let length = Math.min(want, size - offset);
      for (;;) {
        const data = Buffer.alloc(length);
        const { bytesRead } = await handle.read(data, 0, length, offset);
        const got = data.subarray(0, bytesRead);
        if (got.includes(10) || offset + bytesRead >= size) return { data: got, size };
        length = Math.min(length * 2, size - offset); // one record longer than the chunk: read more
      }
    } finally {
      await handle.close();
    }
  }

  /** The records up to `read` were delivered: move the cursor past them and delete finished segments. */
  async commit(read: SpoolRead): Promise<void> {
    this.cursor = read.next;
    this.count -= read.units.length;
    this.bytes -= read.bytes;
    for (const segment of [...this.segments]) {
      if (segment >= this.cursor.segment) break;
      this.segments.shift();
      await rm(this.file(segment), { force: true });
    }
    if (this.count <= 0) {
      // Empty: close and remove the current segment too, so a long-lived spool does not keep one open file per sink.
      this.count = 0;
      this.bytes = 0;
      await this.closeWriter();
      for (const segment of this.segments) await rm(this.file(segment), { force: true });
      const next = (this.segments.at(-1) ?? this.cursor.segment) + 1;
      this.segments = [];
      this.cursor = { segment: next, offset: 0 };
    }
    const tmp = join(this.dir, 'cursor.tmp');
    await writeFile(tmp, `${this.cursor.segment} ${this.cursor.offset}\n`, { mode: 0o600 });
    await rename(tmp, join(this.dir, 'cursor'));
  }

  async close(): Promise<void> {
    await this.closeWriter();
  }
}

function countLines(data: Buffer): number {
  let n = 0;
  for (let at = data.indexOf(10); at >= 0; at = data.indexOf(10, at + 1)) n++;
  return n;
}

/** Bytes a spool folder holds on disk (for tests and status). */
export function spoolFiles(dir: string): Array<{ name: string; size: number }> {
  return readdirSync(dir)
    .filter((f) => NAME.test(f))
    .sort()
    .map((name) => ({ name, size: statSync(join(dir, name)).size }));
}
