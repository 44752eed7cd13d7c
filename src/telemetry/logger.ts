/**
 * The gateway's logger: JSON lines (pino) on one buffered stream, written in
 * batches off the request's critical path. Access log lines (access-log.ts)
 * go to the same stream.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

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

/**
 * stdout written in 16 KiB batches under load, and at least once a second
 * when traffic is light, so a quiet gateway's lines never sit in memory.
 */
function bufferedStdout(): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: 16 * 1024, maxWrite: 64 * 1024 });
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
