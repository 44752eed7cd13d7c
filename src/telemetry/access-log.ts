/**
 * One JSON line per request: who, what, where it went, how it ended and how
 * long it took. Never a credential: no header is logged, and paths are logged
 * without their query string, which is where keys and tokens end up.
 *
 * Built by hand rather than through pino: the fields are fixed and none is
 * secret, so pino's generic serialization and redaction bought nothing and
 * cost a third of the gateway's CPU per request (see docs/performance.md).
 * Lines are written as bytes into one reused buffer (Batch) and handed to the
 * log stream in batches, at 16 KiB or every 100 ms: the stream's per-write
 * bookkeeping (a byteLength of every string) then runs once a batch rather
 * than once a request, and a line leaves no strings behind.
 */
import type { DestinationStream } from 'pino';
import type { RequestContext } from '../pipeline/context.js';

/** Characters that need JSON escaping: quotes, backslash, controls, and lone surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f\u0085\u2028\u2029\ud800-\udfff]/;
/** Line ends to readers that split the Unicode way, which JSON.stringify leaves raw (a Host header can hold NEL). */
const UNICODE_BREAKS = /[\u0085\u2028\u2029]/g;

function str(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return `"${value}"`;
  return JSON.stringify(value).replace(UNICODE_BREAKS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A field whose value repeats from line to line (the route, the service, the
 * target, the consumer, the method, the host, the client): its whole
 * `,"name":"value"` is checked, quoted and encoded once, not once a line.
 */
class Field {
  private last: string | undefined = undefined;
  private bytes: Uint8Array = new Uint8Array(0);
  /** The value is ASCII (its UTF-8 is as long as the text). */
  ascii = true;

  constructor(private readonly name: string) {}

  of(value: string): Uint8Array {
    if (value !== this.last) {
      const text = `,"${this.name}":${str(value)}`;
      this.bytes = Buffer.from(text, 'utf8');
      this.ascii = this.bytes.length === text.length;
      this.last = value;
    }
    return this.bytes;
  }
}

let lastMs = -1;
let lastHead: Uint8Array = new Uint8Array(0);

/**
 * The line's start up to the request id, with the ISO time now: made once per
 * millisecond rather than once per line (at 10,000 lines a second, ten lines share it).
 */
function headNow(): Uint8Array {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastHead = Buffer.from(`{"level":"info","time":"${new Date(now).toISOString()}","type":"access","request_id":`, 'latin1');
  }
  return lastHead;
}

const PATH = Buffer.from(',"path":', 'latin1');
const STATUS = Buffer.from(',"status":', 'latin1');
const COMPLETED = Buffer.from(',"completed":true,"bytes_sent":', 'latin1');
const NOT_COMPLETED = Buffer.from(',"completed":false,"bytes_sent":', 'latin1');
const UPSTREAM_MS = Buffer.from(',"upstream_ms":', 'latin1');
const TOTAL_MS = Buffer.from(',"total_ms":', 'latin1');
const END = Buffer.from(',"msg":"request"}\n', 'latin1');

const BATCH_BYTES = 16 * 1024;
const BATCH_MS = 100;
/** The batch buffer's usual size: a batch plus a long line. One line longer than that grows it until the next flush. */
const BUFFER_BYTES = 64 * 1024;

/**
 * The batch being gathered, as UTF-8 bytes in one buffer reused from batch
 * to batch. A line built by concatenation left ~30 intermediate strings of
 * garbage per request (about 1 KB) and was copied again when the batch was
 * flattened; here each piece is written where it goes, and the batch becomes
 * one string only when it is handed over.
 */
class Batch {
  private buf = Buffer.allocUnsafe(BUFFER_BYTES);
  length = 0;
  /** Whether every byte so far is ASCII: then the batch reads out as Latin-1, the cheapest way. */
  private ascii = true;

  /** Makes room for `bytes` more. */
  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + bytes));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }

  /** Copies encoded bytes (a constant, a Field): one copy rather than a loop over characters. */
  bytes(bytes: Uint8Array, ascii = true): void {
    if (!ascii) this.ascii = false;
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Writes `text` as it is (already JSON). */
  raw(text: string): void {
    this.reserve(text.length * 3);
    const buf = this.buf;
    let n = this.length;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) {
        this.length = n;
        this.ascii = false;
        this.length += buf.write(text.slice(i), n, 'utf8');
        return;
      }
      buf[n++] = c;
    }
    this.length = n;
  }

  /** Writes `value` as a JSON string: quoted as it is when nothing in it needs escaping (the common case), else through str(). */
  string(value: string): void {
    this.reserve(value.length * 3 + 2);
    const buf = this.buf;
    const start = this.length;
    let n = start;
    buf[n++] = 0x22;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x7f) {
        this.length = start;
        this.raw(str(value));
        return;
      }
      buf[n++] = c;
    }
    buf[n++] = 0x22;
    this.length = n;
  }

  /** A number of bytes or milliseconds, in decimal: digit by digit when it is a whole number below 10^9, else as String() writes it. */
  integer(value: number): void {
    if (!(value >= 0 && value < 1e9) || value % 1 !== 0) {
      this.raw(String(value));
      return;
    }
    this.reserve(10);
    let digits = 1;
    for (let v = value; v >= 10; v = (v / 10) | 0) digits++;
    const buf = this.buf;
    let n = this.length + digits;
    this.length = n;
    let v = value;
    do {
      buf[--n] = 0x30 + (v % 10);
      v = (v / 10) | 0;
    } while (v > 0);
  }

  /** Milliseconds rounded to hundredths, as String(Math.round(ms * 100) / 100) writes them: "12", "12.5", "12.05". */
  millis(value: number): void {
    const hundredths = Math.round(value * 100);
    if (!(hundredths >= 0 && hundredths < 1e11)) {
      this.raw(String(hundredths / 100));
      return;
    }
    const whole = Math.floor(hundredths / 100);
    const fraction = hundredths - whole * 100;
    this.integer(whole);
    if (fraction === 0) return;
    this.reserve(3);
    const buf = this.buf;
    let n = this.length;
    buf[n++] = 0x2e;
    buf[n++] = 0x30 + Math.floor(fraction / 10);
    if (fraction % 10 !== 0) buf[n++] = 0x30 + (fraction % 10);
    this.length = n;
  }

  /** The batch as one string, and the buffer emptied (and brought back to its usual size after a long line). */
  take(): string {
    const text = this.buf.toString(this.ascii ? 'latin1' : 'utf8', 0, this.length);
    this.length = 0;
    this.ascii = true;
    if (this.buf.length > BUFFER_BYTES) this.buf = Buffer.allocUnsafe(BUFFER_BYTES);
    return text;
  }
}

/** Hands a request's access record to the access sinks (telemetry/sinks/access-tap.ts); set only when one is configured. */
export type AccessTap = (ctx: RequestContext, status: number, completed: boolean, totalMs: number) => void;

export class AccessLog {
  private readonly batch = new Batch();
  private timer: NodeJS.Timeout | undefined;
  /** The hand-built line on stdout: telemetry.access_log.sinks holds a stdout sink in json (the default). */
  stdout = true;
  tap: AccessTap | undefined;
  private readonly clientIp = new Field('client_ip');
  private readonly method = new Field('method');
  private readonly host = new Field('host');
  private readonly route = new Field('route');
  private readonly service = new Field('service');
  private readonly target = new Field('target');
  private readonly consumer = new Field('consumer');
  private readonly flushLater = (): void => this.flush();

  constructor(private readonly out: DestinationStream) {}

  private field(field: Field, value: string): void {
    const bytes = field.of(value);
    this.batch.bytes(bytes, field.ascii);
  }

  /** Hands what is gathered to the log stream. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.batch.length === 0) return;
    this.out.write(this.batch.take());
  }

  write(ctx: RequestContext, status: number, completed: boolean): void {
    if (this.tap !== undefined) this.tap(ctx, status, completed, performance.now() - ctx.startTime);
    if (!this.stdout) return;
    const b = this.batch;
    b.bytes(headNow());
    b.string(ctx.id);
    // Hex digits only (telemetry/tracing/trace-context.ts checked them): written without escaping.
    if (ctx.traceId !== undefined) b.raw(`,"trace_id":"${ctx.traceId}"`);
    this.field(this.clientIp, ctx.clientIp);
    this.field(this.method, ctx.method);
    b.bytes(PATH);
    b.string(ctx.path);
    this.field(this.host, ctx.host);
    if (ctx.routeName !== undefined) this.field(this.route, ctx.routeName);
    if (ctx.serviceName !== undefined) this.field(this.service, ctx.serviceName);
    if (ctx.upstreamTarget !== undefined) this.field(this.target, ctx.upstreamTarget);
    if (ctx.consumer !== undefined) this.field(this.consumer, ctx.consumer.name);
    b.bytes(STATUS);
    b.integer(status);
    if (ctx.denial !== undefined) {
      b.raw(',"code":');
      b.string(ctx.denial.code);
    }
    b.bytes(completed ? COMPLETED : NOT_COMPLETED);
    b.integer(ctx.bytesSent);
    if (ctx.upstreamLatencyMs >= 0) {
      b.bytes(UPSTREAM_MS);
      b.millis(ctx.upstreamLatencyMs);
    }
    b.bytes(TOTAL_MS);
    b.millis(performance.now() - ctx.startTime);
    if (ctx.events !== undefined) {
      b.raw(',"events":[');
      ctx.events.forEach((e, i) => {
        if (i > 0) b.raw(',');
        b.string(`${e.action}:${e.type}`);
      });
      b.raw(']');
    }
    b.bytes(END);
    if (b.length >= BATCH_BYTES) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(this.flushLater, BATCH_MS);
      this.timer.unref();
    }
  }
}
