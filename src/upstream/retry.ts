/**
 * The retry decision and the classification of upstream errors: what a
 * failed attempt was (a connect failure, a timeout, something else), what
 * the client is told (502 or 504), and whether another target may be tried.
 */
import { isTlsFailure } from './tls.js';
import type { Service } from './service.js';

const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

const CONNECT_FAILURES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

export type Classified = { kind: 'connect-failure' | 'timeout' | 'other'; status: number; code: string };

/**
 * Another attempt is allowed: attempts left, the client still there and not yet answered, an
 * idempotent method, and a body that can be sent again (none, or one a policy read into memory).
 */
export function mayRetry(service: Service, attempt: number, method: string, hasBody: boolean, buffered: boolean): boolean {
  return attempt < service.retry.attempts && IDEMPOTENT.has(method) && (!hasBody || buffered);
}

/** The failure is of a kind the service retries on (retries.on: connect-failure, timeout). */
export function retriesOn(service: Service, classified: Classified): boolean {
  return (classified.kind === 'connect-failure' && service.retry.onConnectFailure) || (classified.kind === 'timeout' && service.retry.onTimeout);
}

/** `responding`: the response head was already sent to the client. */
export function classify(err: Error, responding: boolean): Classified {
  const code = (err as NodeJS.ErrnoException).code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code ?? err.name;
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return { kind: 'connect-failure', status: 504, code };
  if (CONNECT_FAILURES.has(code)) return { kind: 'connect-failure', status: 502, code };
  // The upstream could not be trusted (certificate, name, pin) or spoke no common TLS: no request was sent.
  if (!responding && isTlsFailure(code)) return { kind: 'connect-failure', status: 502, code };
  if (code === 'PORTCULLIS_RESPONSE_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') return { kind: 'timeout', status: 504, code };
  if (code === 'UND_ERR_BODY_TIMEOUT') return { kind: 'timeout', status: 504, code };
  // A kept-alive connection the upstream closed before answering: as good as a connect failure.
  if (!responding && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET')) return { kind: 'connect-failure', status: 502, code };
  return { kind: 'other', status: 502, code };
}
