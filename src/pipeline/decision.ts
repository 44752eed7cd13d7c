/**
 * What a policy returns when it refuses a request. Expected refusals are
 * returned, never thrown: a throw is a bug and goes through the policy's
 * fail mode instead.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { ERRORS, type ErrorCode } from '../errors.js';
import type { SecurityEventDetails } from './events.js';

export interface Deny {
  readonly status: number;
  /** A code of the registry (src/errors.ts): what clients and dashboards key on. */
  readonly code: ErrorCode;
  readonly message: string | undefined;
  readonly headers: OutgoingHttpHeaders | undefined;
  /** What the security event for this refusal should say beyond policy, route and code. */
  readonly event: SecurityEventDetails | undefined;
  /** An answer, not a refusal (a CORS preflight): sent as is, without a security event. */
  readonly reply?: boolean;
  /** A reply's body (a function's answer); none when absent. */
  readonly body?: Buffer;
}

/**
 * A refusal with a registered code (src/errors.ts); the status is the
 * registry's unless `status` says otherwise (a policy's configured status, a
 * 429 where the registry says 503 because the caller, not the gateway, is at
 * its limit).
 */
export function deny(
  code: ErrorCode,
  options: { status?: number; headers?: OutgoingHttpHeaders; message?: string; event?: SecurityEventDetails } = {},
): Deny {
  return { status: options.status ?? ERRORS[code].status, code, message: options.message, headers: options.headers, event: options.event };
}

/** The gateway answers the request itself without calling the upstream: `status` with `headers` and no body. */
export function reply(status: number, code: ErrorCode, headers: OutgoingHttpHeaders): Deny {
  return { status, code, message: undefined, headers, event: undefined, reply: true };
}

/** The gateway answers with a body of its own making (a function's Response): `status`, `headers` and `body`. */
export function replyWithBody(status: number, code: ErrorCode, headers: OutgoingHttpHeaders, body: Buffer): Deny {
  return { status, code, message: undefined, headers, event: undefined, reply: true, body };
}

/** What onRequest may return: nothing to go on, or a refusal. */
export type PolicyResult = Deny | undefined | void;
