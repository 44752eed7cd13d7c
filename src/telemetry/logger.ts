/**
 * The gateway's logger: JSON lines (pino) on one buffered stream, written in
 * batches off the request's critical path. Access log lines (access-log.ts)
 * go to the same stream.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { flushWithin } from './bounded-flush.js';

/** How long the last flush of stdout waits for a reader that does not take more (a full pipe) before it drops the rest. */
const LAST_FLUSH_MS = 2_000;
/** Epoch ms: a reader that is there may be waited for until then (allowLastFlushUntil); undefined: LAST_FLUSH_MS. */
let lastFlushUntil: number | undefined;

/**
 * A worker draining at its supervisor's request: its last flush may wait for
 * a slow reader (the supervisor's relay, behind a log shipper that stalls)
 * until `epochMs`, the supervisor's own kill deadline, rather than dropping
 * the drain's access lines after LAST_FLUSH_MS. A reader that is gone
 * (EPIPE, the supervisor killed) still ends it at once. undefined: back to
 * LAST_FLUSH_MS (the supervisor is gone: nobody bounds the wait but us).
 */
export function allowLastFlushUntil(epochMs: number | undefined): void {
  lastFlushUntil = epochMs;
}

export interface LoggerOptions {
  /** Where lines go; stdout (buffered) when not given. */
  destination?: DestinationStream;
  level?: string;
}

export function createLogger(options: LoggerOptions = {}): { logger: Logger; destination: DestinationStream; flush: () => void } {
  const destination = options.destination ?? bufferedStdout();
  const logger = pino(
    {
      level: options.level ?? process.env.PORTCULLIS_LOG_LEVEL ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // A warning about a dependency (an IdP, a store) is an outage, not a bug: its error's
      // message and code say what happened; a stack trace only buries it. Errors keep theirs.
      // An error as pino shows it; the plain one of withoutStack as it is.
      serializers: { err: (err: unknown) => (err instanceof Error ? pino.stdSerializers.err(err) : err) },
      hooks: {
        logMethod(args, method, level) {
          const fields = args[0];
          if (level < 50 && fields !== null && typeof fields === 'object' && (fields as { err?: unknown }).err instanceof Error) {
            args[0] = { ...fields, err: withoutStack((fields as { err: Error }).err) };
          }
          return method.apply(this, args);
        },
      },
      redact: { paths: ['*.authorization', '*.password', '*.token', '*.key', '*.secret', '*.cookie'], censor: '[redacted]' },
    },
    destination,
  );
  const flush = () => {
    const d = destination as { flushSync?: () => void };
    try {
      d.flushSync?.();
    } catch {
      // not ready yet or already closed: nothing buffered to lose
    }
  };
  return { logger, destination, flush };
}

/** An error as a log line's field without its stack: type, message and code. */
function withoutStack(err: Error): { type: string; message: string; code?: string } {
  // fetch says only "fetch failed"; what failed (ECONNREFUSED, a certificate) is its cause.
  const cause = err.cause instanceof Error ? err.cause : undefined;
  const codeOf = (e: Error | undefined): string | undefined => {
    const value = (e as { code?: unknown } | undefined)?.code;
    return typeof value === 'string' ? value : undefined;
  };
  const code = codeOf(err) ?? codeOf(cause);
  const message = cause ? `${err.message}: ${cause.message}` : err.message;
  return { type: err.name, message, ...(code !== undefined ? { code } : {}) };
}

/**
 * stdout written in 16 KiB batches under load, and at least once a second
 * when traffic is light, so a quiet gateway's lines never sit in memory.
 */
/** This process's buffered stdout streams (stdoutWritten waits for them). */
const stdoutStreams = new Set<ReturnType<typeof pino.destination>>();

/**
 * Waits until stdout's lines have left this process, or until `epochMs`:
 * run before a graceful exit. The synchronous last flush at exit cannot
 * finish a chunk sonic-boom has in flight (one that met a full pipe waits on
 * a retry timer, and is lost at exit): a slow reader of a worker's relay
 * lost the last chunk of each worker's access lines on every drain.
 */
export function stdoutWritten(epochMs: number): Promise<void> {
  return Promise.all(
    [...stdoutStreams].map(
      (stream) =>
        new Promise<void>((done) => {
          const timer = setTimeout(done, Math.max(0, epochMs - Date.now()));
          const finish = () => {
            clearTimeout(timer);
            done();
          };
          try {
            stream.flush(finish);
          } catch {
            finish(); // not open yet: nothing written
          }
        }),
    ),
  ).then(() => undefined);
}

function bufferedStdout(): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: 16 * 1024, maxWrite: 64 * 1024 });
  stdoutStreams.add(stream);
  // pino's exit hook and createLogger's flush call this: sonic-boom's own never gives up on a failed write (bounded-flush.ts).
  stream.flushSync = () => void flushWithin(stream, lastFlushUntil === undefined ? LAST_FLUSH_MS : Math.max(LAST_FLUSH_MS, lastFlushUntil - Date.now()));
  const timer = setInterval(() => {
    try {
      stream.flush();
    } catch {
      // not open yet: nothing to write
    }
  }, 1000);
  timer.unref();
  return stream;
}
