/**
 * A service at run time: its targets, how to choose among them, how long to
 * wait, when to retry, and what a failure does to a target's standing.
 */
import type { Logger } from 'pino';
import { parseDuration } from '../config/units.js';
import type { ServiceConfig } from '../config/schema.js';
import { ConsistentHash, LeastConnections, RoundRobin, WeightedRandom, type Balancer } from './balancers.js';
import { ActiveHealthChecker, PassiveHealth } from './health.js';
import { Target } from './target.js';
import { DeadlineList } from './deadlines.js';
import { UpstreamTls, type UpstreamTlsSettings } from './tls.js';
import type { CertificateInventory } from '../telemetry/certificates.js';

export type Failure = 'connect-failure' | 'timeout' | 'status';

export interface RetryPolicy {
  attempts: number;
  onConnectFailure: boolean;
  onTimeout: boolean;
  statuses: ReadonlySet<number>;
}

export class Service {
  readonly name: string;
  readonly targets: readonly Target[];
  readonly retry: RetryPolicy;
  readonly responseTimeoutMs: number;
  /** Every request's timeouts.response, in one list with one timer (deadlines.ts). */
  readonly responseDeadlines: DeadlineList;
  readonly idleTimeoutMs: number;
  readonly preserveHost: boolean;
  readonly hashOn: ServiceConfig['hash_on'];
  readonly hashHeader: string | undefined;
  private readonly balancer: Balancer;
  private readonly active: ActiveHealthChecker | undefined;
  private readonly passive: PassiveHealth | undefined;
  private readonly failureStatuses: ReadonlySet<number>;
  private readonly tls: UpstreamTls | undefined;

  constructor(
    readonly config: ServiceConfig,
    private readonly logger: Logger,
    tls?: UpstreamTlsSettings,
    inventory?: CertificateInventory,
  ) {
    this.name = config.name;
    this.tls = tls
      ? new UpstreamTls(tls, { connectTimeoutMs: parseDuration(config.timeouts.connect), allowH2: config.http2, logger, inventory })
      : undefined;
    const breaker = config.breaker
      ? { failures: config.breaker.failures, openForMs: parseDuration(config.breaker.open_for) }
      : undefined;
    this.targets = (config.targets ?? []).map(
      (t) =>
        new Target(
          {
            url: new URL(t.url),
            weight: t.weight,
            connectTimeoutMs: parseDuration(config.timeouts.connect),
            keepAliveTimeoutMs: parseDuration(config.keepalive_timeout),
            maxConnections: config.max_connections,
            breaker,
            connect: this.tls?.connect,
            allowH2: config.http2,
          },
          config.name,
          logger,
        ),
    );
    this.balancer = balancerFor(config, this.targets);
    this.responseTimeoutMs = parseDuration(config.timeouts.response);
    this.responseDeadlines = new DeadlineList(this.responseTimeoutMs);
    this.idleTimeoutMs = parseDuration(config.timeouts.idle);
    this.preserveHost = config.preserve_host;
    this.hashOn = config.hash_on;
    this.hashHeader = config.hash_header?.toLowerCase();
    this.retry = {
      attempts: config.retries.attempts,
      onConnectFailure: config.retries.on.includes('connect-failure'),
      onTimeout: config.retries.on.includes('timeout'),
      statuses: new Set(config.retries.on.filter((x): x is number => typeof x === 'number')),
    };
    const active = config.health.active;
    this.active = active
      ? new ActiveHealthChecker(
          this.targets,
          {
            path: active.path,
            intervalMs: parseDuration(active.interval),
            timeoutMs: parseDuration(active.timeout),
            healthyThreshold: active.healthy_threshold,
            unhealthyThreshold: active.unhealthy_threshold,
            expectedStatuses: new Set(active.expected_statuses),
          },
          logger,
        )
      : undefined;
    const passive = config.health.passive;
    this.passive = passive
      ? new PassiveHealth(
          {
            failures: passive.failures,
            windowMs: parseDuration(passive.window),
            cooldownMs: parseDuration(passive.cooldown),
            statuses: new Set(passive.statuses),
          },
          active !== undefined,
        )
      : undefined;
    this.failureStatuses = new Set(passive?.statuses ?? [500, 502, 503, 504]);
  }

  start(): void {
    this.tls?.start();
    this.active?.start();
  }

  /** A target for this attempt, never one in `tried` while another is available. */
  pick(hashKey: string | undefined, tried: readonly Target[] | undefined): Target | undefined {
    const now = Date.now();
    const usable = tried && tried.length > 0 ? (t: Target) => !tried.includes(t) && t.isAvailable(now) : (t: Target) => t.isAvailable(now);
    let target = this.balancer.pick(this.targets, usable, hashKey);
    // Every untried target is down: a retry may go back to one already tried.
    if (!target && tried && tried.length > 0) target = this.balancer.pick(this.targets, (t) => t.isAvailable(now), hashKey);
    if (target?.breaker && !target.breaker.allow(now)) return undefined;
    return target;
  }

  /** Whether an upstream status counts against the target (passive health, breaker). */
  isFailureStatus(status: number): boolean {
    return this.failureStatuses.has(status);
  }

  succeeded(target: Target): void {
    target.breaker?.success();
  }

  failed(target: Target, reason: string): void {
    const now = Date.now();
    target.breaker?.failure(now);
    this.passive?.failure(target, now, reason);
  }

  async close(): Promise<void> {
    this.active?.stop();
    this.tls?.close();
    await Promise.allSettled(this.targets.map((t) => t.close()));
  }
}

function balancerFor(config: ServiceConfig, targets: readonly Target[]): Balancer {
  switch (config.balance) {
    case 'least-connections':
      return new LeastConnections();
    case 'consistent-hash':
      return new ConsistentHash(targets);
    case 'random':
      return new WeightedRandom();
    default:
      return new RoundRobin();
  }
}
