/**
 * Passive health and breakers across a node's workers: a target that one
 * worker saw fail is out for all of them. Each worker looks at its targets
 * every WATCH_MS (a read of a few fields per target: the request path is not
 * touched), and when a breaker of its own opened or passive health took a
 * target out, it tells the supervisor, which tells every other worker; they
 * open the same breaker, or take the same target out until the same moment.
 *
 * Bounds (docs/workers.md): the other workers follow within WATCH_MS plus
 * one IPC hop; until then they may still send that target requests. A
 * breaker reopened elsewhere stays open up to that much longer there. Each
 * worker sends its own half-open probe when open_for ends, so a target gets
 * at most one probe per worker, not one per node. Closing is not shared:
 * each worker's own probe closes its breaker.
 *
 * Active health checks run in one worker for the node (active-health.ts);
 * its verdicts come here as `checked` news after each of its rounds.
 */
import type { Target } from '../../upstream/target.js';
import type { UpstreamRegistry } from '../../upstream/registry.js';
import type { UpstreamChange } from './protocol.js';
import { ActiveVerdicts } from './active-health.js';

export const WATCH_MS = 50;
/** Failures fed to a closed breaker to open it, at most (a breaker's threshold is far smaller). */
const MAX_FEED = 10_000;

interface Seen {
  breaker: string | undefined;
  healthy: boolean;
}

export class UpstreamSync {
  private readonly seen = new WeakMap<Target, Seen>();
  /** The node's prober's latest active-check verdicts, for targets this worker makes later (a reload). */
  private readonly verdicts = new ActiveVerdicts();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly upstreams: UpstreamRegistry,
    private readonly share: (change: UpstreamChange) => void,
  ) {
    this.timer = setInterval(() => this.watch(), WATCH_MS);
    this.timer.unref();
  }

  private *targets(): Iterable<Target> {
    for (const service of this.upstreams.running()) yield* service.targets;
  }

  /**
   * The targets of services that run active checks now: only those follow the prober's verdicts. A verdict kept
   * from before a reload that dropped the checks would take a target out with nothing left to put it back
   * (markUnhealthy until 0), on every worker but the prober (red team s6).
   */
  private *probedTargets(): Iterable<Target> {
    for (const service of this.upstreams.running()) if (service.config.health.active) yield* service.targets;
  }

  private watch(): void {
    let probed: Set<Target> | undefined;
    for (const target of this.targets()) {
      let before = this.seen.get(target);
      if (!before) {
        // A target made since the last look (start, or a reload): it starts where the node's prober last judged it.
        if ((probed ??= new Set(this.probedTargets())).has(target)) this.verdicts.applyTo(target);
        // Its breaker may already be open: requests within WATCH_MS of a worker's start can open it before
        // the first look, and news never shared would leave the other workers sending it traffic.
        before = { breaker: undefined, healthy: target.healthy };
      }
      const now = { breaker: target.breaker?.state, healthy: target.healthy };
      this.seen.set(target, now);
      if (now.breaker === 'open' && before.breaker !== 'open') this.share({ service: target.service, origin: target.origin, what: 'open', until: 0 });
      if (!now.healthy && before.healthy) this.share({ service: target.service, origin: target.origin, what: 'down', until: target.downUntil });
    }
  }

  /** Another worker's news: the same target here follows. */
  apply(change: UpstreamChange): void {
    if (change.what === 'checked') this.verdicts.record(change);
    for (const target of change.what === 'checked' ? this.probedTargets() : this.targets()) {
      if (target.service !== change.service || target.origin !== change.origin) continue;
      if (change.what === 'checked') this.verdicts.applyTo(target);
      else if (change.what === 'down') target.markUnhealthy('passive: failures seen by another worker', change.until);
      else if (target.breaker && target.breaker.state !== 'open') {
        // The breaker opens on its own rule (consecutive failures, or a failed probe): fed failures until it does.
        const breaker = target.breaker;
        const now = Date.now();
        for (let i = 0; i < MAX_FEED && !isOpen(breaker); i++) breaker.failure(now);
      }
      // What this worker saw now is the others' news, not its own: not sent back.
      this.seen.set(target, { breaker: target.breaker?.state, healthy: target.healthy });
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** Read afresh each time (the compiler would narrow a field read in the loop's condition). */
function isOpen(breaker: { state: string }): boolean {
  return breaker.state === 'open';
}
