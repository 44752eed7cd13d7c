/**
 * Health checks. Active: a request to each target on an interval; a run of
 * failures takes it out, a run of successes brings it back. Passive: failed
 * proxied requests within a window take a target out; active checks (or, with
 * none configured, a cooldown) bring it back. Every change is logged.
 */
import type { Logger } from 'pino';
import type { Target } from './target.js';

export interface ActiveHealthSettings {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  expectedStatuses: ReadonlySet<number>;
}

export interface PassiveHealthSettings {
  failures: number;
  windowMs: number;
  cooldownMs: number;
  statuses: ReadonlySet<number>;
}

/**
 * Who runs the active checks of this process. One process: it does. A node of
 * workers (cluster/workers/active-health.ts): one worker probes for the
 * node and hands every round's verdicts to `verdicts`, which passes them to
 * the other workers; they leave `probe` off and take those verdicts, so a
 * target gets one probe per interval per node, not one per worker.
 */
export const activeProbing: { probe: boolean; verdicts: ((verdicts: ReadonlyArray<readonly [Target, boolean]>) => void) | undefined } = { probe: true, verdicts: undefined };

interface ProbeState {
  successes: number;
  failures: number;
}

export class ActiveHealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private readonly state = new Map<Target, ProbeState>();
  private running = false;

  constructor(
    private readonly targets: readonly Target[],
    private readonly settings: ActiveHealthSettings,
    private readonly logger: Logger,
  ) {
    for (const t of targets) this.state.set(t, { successes: 0, failures: 0 });
  }

  start(): void {
    if (this.timer || !activeProbing.probe) return;
    this.timer = setInterval(() => void this.checkAll(), this.settings.intervalMs);
    this.timer.unref();
    void this.checkAll();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round over every target; rounds never overlap. */
  async checkAll(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await Promise.all(this.targets.map((t) => this.check(t)));
      activeProbing.verdicts?.(this.verdicts());
    } finally {
      this.running = false;
    }
  }

  /** Each target's standing after a round, where the checks decided one (a run reached its threshold): healthy or not. */
  private verdicts(): Array<readonly [Target, boolean]> {
    const out: Array<readonly [Target, boolean]> = [];
    for (const [target, state] of this.state) {
      if (state.successes >= this.settings.healthyThreshold) out.push([target, true]);
      else if (state.failures >= this.settings.unhealthyThreshold) out.push([target, false]);
    }
    return out;
  }

  private async check(target: Target): Promise<void> {
    const state = this.state.get(target)!;
    let ok = false;
    let reason = '';
    try {
      const res = await target.pool.request({
        method: 'GET',
        path: target.basePath + this.settings.path,
        headers: { host: target.hostHeader, 'user-agent': 'portcullis-health-check' },
        headersTimeout: this.settings.timeoutMs,
        bodyTimeout: this.settings.timeoutMs,
      });
      await res.body.dump();
      ok = this.settings.expectedStatuses.has(res.statusCode);
      reason = `status ${res.statusCode}`;
    } catch (err) {
      reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    }
    if (ok) {
      state.failures = 0;
      if (++state.successes >= this.settings.healthyThreshold) target.markHealthy(`active check: ${reason}`);
    } else {
      state.successes = 0;
      if (++state.failures >= this.settings.unhealthyThreshold) target.markUnhealthy(`active check: ${reason}`);
      this.logger.debug({ service: target.service, target: target.origin, reason }, 'health check failed');
    }
  }
}

export class PassiveHealth {
  private readonly failures = new Map<Target, number[]>();

  constructor(
    readonly settings: PassiveHealthSettings,
    /** With active checks, they decide when a target comes back; otherwise the cooldown does. */
    private readonly activeChecks: boolean,
  ) {}

  failure(target: Target, now: number, reason: string): void {
    let times = this.failures.get(target);
    if (!times) this.failures.set(target, (times = []));
    times.push(now);
    const horizon = now - this.settings.windowMs;
    while (times.length > 0 && times[0]! < horizon) times.shift();
    if (times.length >= this.settings.failures) {
      times.length = 0;
      target.markUnhealthy(`passive: ${this.settings.failures} failures within ${this.settings.windowMs}ms, last ${reason}`, this.activeChecks ? 0 : now + this.settings.cooldownMs);
    }
  }
}
