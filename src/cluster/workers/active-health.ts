/**
 * Active health checks once per node (docs/workers.md). Worker 0 probes
 * every target as one process does; the other workers run no checks. After
 * each round the prober sends every verdict its checks reached (a run of
 * successes or failures at its threshold) through the supervisor to the
 * others (upstream-sync.ts, `checked` news), which take the target out or
 * put it back exactly as the prober did. So a target gets one probe per
 * interval per node, not one per worker, and every worker agrees.
 *
 * Bounds: the others follow one IPC hop after the prober's round. A worker
 * 0 that exits is forked again (100 ms, more in a crash loop) and probes from
 * scratch: until its runs reach their thresholds, the others keep the last
 * verdicts they had. Verdicts are kept per service and target URL (at most
 * MAX_VERDICTS) so that a target a reload makes anew on another worker
 * starts where the prober last judged it; the supervisor keeps them too
 * (VerdictBook) and hands them to a worker once it is ready, so a worker
 * forked again does not send traffic to a target the prober took out.
 */
import { activeProbing } from '../../upstream/health.js';
import type { Target } from '../../upstream/target.js';
import type { UpstreamChange } from './protocol.js';

/** The worker that probes for the node: the first slot, which always exists and is forked again when it exits. */
export const PROBER_SLOT = 0;
const MAX_VERDICTS = 10_000;

/** Before the worker's gateway starts: worker 0 probes and shares its verdicts; the others only listen. */
export function joinActiveHealth(slot: number, share: (change: UpstreamChange) => void): void {
  activeProbing.probe = slot === PROBER_SLOT;
  activeProbing.verdicts =
    slot === PROBER_SLOT
      ? (verdicts) => {
          for (const [target, healthy] of verdicts) share({ service: target.service, origin: target.origin, what: 'checked', until: 0, healthy });
        }
      : undefined;
}

/** The prober's latest verdicts as the supervisor keeps them, for a worker that starts later (a restart). */
export class VerdictBook {
  private readonly changes = new Map<string, UpstreamChange>();

  record(change: UpstreamChange): void {
    if (change.what !== 'checked' || typeof change.healthy !== 'boolean') return;
    const key = `${change.service}\n${change.origin}`;
    this.changes.delete(key);
    if (this.changes.size >= MAX_VERDICTS) this.changes.delete(this.changes.keys().next().value!);
    this.changes.set(key, change);
  }

  all(): Iterable<UpstreamChange> {
    return this.changes.values();
  }
}

/** The prober's latest verdicts, as another worker keeps them. */
export class ActiveVerdicts {
  private readonly verdicts = new Map<string, boolean>();

  record(change: UpstreamChange): void {
    if (typeof change.healthy !== 'boolean') return;
    const key = `${change.service}\n${change.origin}`;
    this.verdicts.delete(key);
    if (this.verdicts.size >= MAX_VERDICTS) this.verdicts.delete(this.verdicts.keys().next().value!);
    this.verdicts.set(key, change.healthy);
  }

  /** Puts the target where the prober judged it (nothing when it has not judged it yet). */
  applyTo(target: Target): void {
    const healthy = this.verdicts.get(`${target.service}\n${target.origin}`);
    if (healthy === true) target.markHealthy(`active check by worker ${PROBER_SLOT} (the node's prober)`);
    else if (healthy === false) target.markUnhealthy(`active check by worker ${PROBER_SLOT} (the node's prober)`, 0);
  }
}
