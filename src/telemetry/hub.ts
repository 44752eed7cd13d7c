/**
 * What the gateway tells the world, in one object the gateway owns and hands
 * to the request path: the event bus (security events to sinks, metrics and
 * defense) and the Prometheus metrics (telemetry/metrics/, when on).
 * Tracing and the audit trail hang here too as they are built. It outlives
 * snapshots: a reload reconfigures it, never replaces it.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { EventBus } from './event.js';
import type { AuditTrail } from './audit/trail.js';
import type { GatewayMetrics } from './metrics/index.js';
import { Tracing } from './tracing/tracing.js';
import type { SinkManager } from './sinks/manager.js';

/** One sink's delivery state, as metrics and the admin API show it. */
export interface SinkStatus {
  readonly name: string;
  /** Which stream it serves. */
  readonly stream: 'events' | 'access' | 'audit';
  /** Records waiting in memory. */
  readonly queued: number;
  /** Records waiting in the disk spool while the receiver is away. */
  readonly spooled: number;
  /** Records delivered since start. */
  readonly sent: number;
  /** Records lost since start (spool full), each also counted in a log line. */
  readonly dropped: number;
  /** Failed delivery attempts since start. */
  readonly failures: number;
}

export class Telemetry {
  readonly events: EventBus;
  /** W3C trace context and OpenTelemetry spans (telemetry.tracing). */
  readonly tracing: Tracing;
  /** The sinks' delivery state; the sinks set it when they start. */
  sinkStatus: () => readonly SinkStatus[] = () => [];
  /** The audit trail of config changes (telemetry.audit), when configured; opened at start, kept until shutdown. */
  audit: AuditTrail | undefined;
  /** Prometheus metrics, when on (telemetry.metrics); the admin listener serves them. */
  metrics: GatewayMetrics | undefined = undefined;
  /** The events and access sinks (telemetry/sinks/manager.ts); the gateway sets it at start. */
  sinks: SinkManager | undefined;

  constructor(
    readonly node: string,
    logger: Logger,
  ) {
    this.events = new EventBus(node, (error) => logger.error({ err: error }, 'an event listener failed; it is skipped from now on'));
    this.tracing = new Tracing(logger, node);
  }

  /** The node name events, metrics and traces carry: telemetry.node_id, or the host name. */
  static nodeName(configured: string | undefined): string {
    return configured ?? hostname();
  }
}
