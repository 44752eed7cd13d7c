/**
 * A listener that could not open, said the way an operator acts on it: which
 * listener, which address, and what the system answered.
 */
import type { ListenerConfig } from '../config/schema.js';

const REASONS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use (another process listens there)',
  EADDRNOTAVAIL: 'no network interface of this machine has that address',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved (DNS did not answer)',
};

export class ListenError extends Error {
  readonly code: string | undefined;
  /** The listener's name (a reload names its place in the config from it). */
  readonly listener: string;
  /** `what`: a listener config, or the name of another server (the demo upstream). */
  constructor(what: ListenerConfig | { name: string; address: string; kind: string }, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException).code;
    const who = 'kind' in what ? what.kind : `listener "${what.name}"`;
    super(`${who} cannot listen on ${what.address}: ${(code && REASONS[code]) ?? (cause as Error).message}`, { cause });
    this.code = code;
    this.listener = what.name;
  }
}
