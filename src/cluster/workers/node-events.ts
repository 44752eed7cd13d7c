/**
 * Gateway events once per node for what every worker sees alike (docs/workers.md):
 * the node's reload (all or nothing, so each worker's `config.reloaded` is the
 * same happening) and certificate expiry warnings (every worker holds the
 * same certificates). Worker 0, which also keeps the audit trail, reports
 * them; the other workers drop them before any sink, metric or defense
 * listener sees them. What one worker sees on its own stays per worker: a
 * refusal (the refusing worker says why), a store outage (each worker's own
 * connection to Redis or channel to the supervisor), request events.
 */
import { eventScope } from '../../telemetry/event.js';

export const NODE_WIDE_EVENTS: ReadonlySet<string> = new Set(['config.reloaded', 'certificate.expiring', 'certificate.expired']);

/** Before the worker's gateway starts (a start can warn of a certificate already). */
export function scopeNodeEvents(slot: number): void {
  eventScope.reports = slot === 0 ? undefined : (type) => !NODE_WIDE_EVENTS.has(type);
}
