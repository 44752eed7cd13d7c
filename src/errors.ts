/**
 * One registry of the stable error codes a client can see. The code is part of
 * the API contract (clients and dashboards key on it); the message is for people.
 * A client error never reveals upstream internals or which part of a credential
 * was wrong.
 */
export const ERRORS = {
  login_required: { status: 302, message: 'Sign-in is required; follow the redirect.' },
  redirect: { status: 302, message: 'Follow the redirect.' },
  cors_preflight: { status: 204, message: 'The CORS preflight is answered.' },
  function_answer: { status: 200, message: 'A function answered the request.' },
  bad_request: { status: 400, message: 'The request is malformed.' },
  login_failed: { status: 400, message: 'The sign-in could not be completed; start again.' },
  invalid_path: { status: 400, message: 'The request path is not valid.' },
  ambiguous_framing: { status: 400, message: 'The request framing is ambiguous.' },
  unauthorized: { status: 401, message: 'Authentication is required.' },
  forbidden: { status: 403, message: 'You are not allowed to do this.' },
  insufficient_scope: { status: 403, message: 'The credentials do not carry a scope this request needs.' },
  request_blocked: { status: 403, message: 'The request was blocked by a security rule.' },
  ip_forbidden: { status: 403, message: 'Requests from this address are not allowed.' },
  client_forbidden: { status: 403, message: 'Requests from this client are not allowed.' },
  access_suspended: { status: 403, message: 'Access for these credentials is suspended for a while.' },
  client_certificate_required: { status: 403, message: 'A client certificate is required for now.' },
  cors_rejected: { status: 403, message: 'This cross-origin request is not allowed.' },
  invalid_request: { status: 400, message: 'The request does not match what this API accepts.' },
  unsupported_media_type: { status: 415, message: 'The request body has a content type this API does not accept.' },
  not_found: { status: 404, message: 'No route matches this request.' },
  method_not_allowed: { status: 405, message: 'This method is not allowed here.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  uri_too_long: { status: 414, message: 'The request URI is too long.' },
  request_timeout: { status: 408, message: 'The request took too long to arrive.' },
  query_too_complex: { status: 414, message: 'The request has too many query parameters.' },
  rate_limited: { status: 429, message: 'Too many requests.' },
  too_many_password_checks: { status: 429, message: 'Too many password checks from this client are in progress; retry later.' },
  quota_exceeded: { status: 429, message: 'The quota for this period is used up.' },
  too_many_connections: { status: 429, message: 'Too many connections from this address.' },
  headers_too_large: { status: 431, message: 'The request headers are too large.' },
  too_many_headers: { status: 431, message: 'The request has too many header fields.' },
  internal_error: { status: 500, message: 'The gateway failed to handle the request.' },
  bad_gateway: { status: 502, message: 'The upstream service failed to answer.' },
  function_failed: { status: 502, message: 'The function failed (it threw, or went over its CPU, memory or size limits).' },
  function_unavailable: { status: 503, message: 'The function is marked unhealthy or is at its concurrency limit; retry later.' },
  function_timeout: { status: 504, message: 'The function did not answer in time.' },
  upstream_unavailable: { status: 503, message: 'No healthy upstream is available.' },
  overloaded: { status: 503, message: 'The gateway is overloaded; retry later.' },
  concurrency_limited: { status: 503, message: 'Too many requests are in progress; retry later.' },
  dependency_unavailable: { status: 503, message: 'A service the gateway needs to check this request is unavailable; retry later.' },
  gateway_timeout: { status: 504, message: 'The upstream service did not answer in time.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** The JSON body of a gateway-generated error response. */
export function errorBody(status: number, code: string, message: string, requestId: string): string {
  return JSON.stringify({ error: { status, code, message, request_id: requestId } });
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}

/** Status and message for a code; unknown codes (a policy's own) keep the status they were given. */
export function describeError(code: string, status?: number): { status: number; message: string } {
  if (isErrorCode(code)) {
    const known = ERRORS[code];
    return { status: status ?? known.status, message: known.message };
  }
  return { status: status ?? 500, message: 'The request was refused.' };
}

// The error classes the gateway throws and catches across layers. Expected
// refusals are Deny values, not these; config problems are config/errors.ts's
// (ConfigError, InvalidConfigError), the vocabulary of the config leaf.

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body is larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Thrown by a policy when something it depends on (an identity provider, a
 * directory) cannot answer. The pipeline turns it into 503 when the policy
 * fails closed, or lets the request go on when it fails open.
 */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly dependency: string,
    options?: { cause?: unknown },
  ) {
    super(`${dependency} is unavailable`, options);
    this.name = 'DependencyUnavailableError';
  }
}

/**
 * The store did not answer (down, or slower than its timeout). The failure is
 * logged once per incident by the store's health tracker, not per request.
 */
export class StoreUnavailableError extends DependencyUnavailableError {
  constructor(options?: { cause?: unknown }) {
    super('store', options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The store has no room for a new security-state entry, and will not make
 * room by forgetting one that has not expired: the operation is refused (a
 * 503 under the policy's default `fail: closed`) until entries expire.
 */
export class StoreFullError extends StoreUnavailableError {
  constructor(options?: { cause?: unknown }) {
    super(options);
    this.name = 'StoreFullError';
  }
}

export class StoreTimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'StoreTimeoutError';
  }
}

/** The upstream's response head did not arrive within timeouts.response. */
export class ResponseTimeoutError extends Error {
  readonly code = 'PORTCULLIS_RESPONSE_TIMEOUT';
  constructor(ms: number) {
    super(`no response head within ${ms} ms`);
    this.name = 'ResponseTimeoutError';
  }
}

export class DenyListFullError extends Error {
  constructor(readonly max: number) {
    super(`the dynamic deny list is full (${max} entries)`);
    this.name = 'DenyListFullError';
  }
}
