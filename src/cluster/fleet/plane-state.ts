/**
 * What a data plane reports of its node (docs/fleet.md): the version it
 * serves, readiness and why not, and requests by status class. Read from
 * one gateway here; a node of workers asks each worker for its own and its
 * supervisor sums them (cluster/workers/node-state.ts), so the control plane
 * sees one node either way.
 */
import type { Gateway } from '../../gateway.js';

export interface PlaneState {
  /** The node's config version counter (with workers: the lowest any worker serves). */
  readonly version: number;
  readonly ready: boolean;
  readonly reasons: string[];
  /** Requests answered since start by status class (summed over workers), when metrics are on. */
  readonly requests: Record<string, number>;
}

export async function gatewayState(gateway: Gateway): Promise<PlaneState> {
  const readiness = await gateway.readiness.check();
  return {
    version: gateway.snapshot.version,
    ready: readiness.ready,
    reasons: readiness.ready ? [] : [readiness.status, ...readiness.checks.identity],
    requests: await requestCounts(gateway),
  };
}

/** Requests answered since start by status class, from the gateway's metrics when they are on. */
async function requestCounts(gateway: Gateway): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const metric = gateway.telemetry.metrics?.registry.getSingleMetric('portcullis_requests_total');
  if (!metric) return counts;
  for (const value of (await metric.get()).values) {
    const cls = String(value.labels.status_class ?? '');
    counts[cls] = (counts[cls] ?? 0) + value.value;
  }
  return counts;
}
