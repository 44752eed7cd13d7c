/**
 * What the gateway tells the world, in one object the gateway owns and hands
 * to the request path: the event bus (security events to sinks, metrics and
 * defense). Metrics, tracing and the audit trail hang here too as they are
 * built. It outlives snapshots: a reload reconfigures it, never replaces it.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { EventBus } from './event.js';

export class Telemetry {
  readonly events: EventBus;

  constructor(
    readonly node: string,
    logger: Logger,
  ) {
    this.events = new EventBus(node, (error) => logger.error({ err: error }, 'an event listener failed; it is skipped from now on'));
  }

  /** The node name events, metrics and traces carry: telemetry.node_id, or the host name. */
  static nodeName(configured: string | undefined): string {
    return configured ?? hostname();
  }
}
