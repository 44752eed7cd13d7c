/**
 * What a policy returns when it refuses a request. Expected refusals are
 * returned, never thrown: a throw is a bug and goes through the policy's
 * fail mode instead.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { SecurityEventDetails } from './events.js';

export interface Deny {
  readonly status: number;
  readonly code: string;
  readonly message: string | undefined;
  readonly headers: OutgoingHttpHeaders | undefined;
  /** What the security event for this refusal should say beyond policy, route and code. */
  readonly event: SecurityEventDetails | undefined;
  /** An answer, not a refusal (a CORS preflight): sent as is, without a body or a security event. */
  readonly reply?: boolean;
}

export function deny(
  status: number,
  code: string,
  options: { headers?: OutgoingHttpHeaders; message?: string; event?: SecurityEventDetails } = {},
): Deny {
  return { status, code, message: options.message, headers: options.headers, event: options.event };
}

/** The gateway answers the request itself without calling the upstream: `status` with `headers` and no body. */
export function reply(status: number, code: string, headers: OutgoingHttpHeaders): Deny {
  return { status, code, message: undefined, headers, event: undefined, reply: true };
}

/** What onRequest may return: nothing to go on, or a refusal. */
export type PolicyResult = Deny | undefined | void;
