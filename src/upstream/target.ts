/**
 * One upstream target: its connection pool and everything known about its
 * health. Shared by every request to the service, and reused across config
 * snapshots while the service's config is unchanged.
 */
import { Pool, buildConnector } from 'undici';
import type { Logger } from 'pino';
import { Breaker, type BreakerSettings } from './breaker.js';

export interface TargetSettings {
  url: URL;
  weight: number;
  connectTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  breaker: BreakerSettings | undefined;
  /** The service's TLS connect function (src/upstream/tls.ts), for https targets with tls settings. */
  connect?: buildConnector.connector;
  /** Offer HTTP/2 by ALPN to an https target. */
  allowH2?: boolean;
}

export class Target {
  readonly origin: string;
  /** The Host header the target expects when preserve_host is off. */
  readonly hostHeader: string;
  /** A path the target URL carries, prepended to every forwarded path ("" for none). */
  readonly basePath: string;
  /**
   * Given to undici with each request so that it does not take the TLS server
   * name from the request's Host header (it would, and drop the pooled
   * connection whenever that name changes). The name actually sent and
   * checked comes from the connector: tls.server_name, else the target URL.
   */
  readonly servername: string;
  readonly weight: number;
  readonly pool: Pool;
  readonly breaker: Breaker | undefined;
  /** Requests in flight to this target. */
  active = 0;
  /** Cleared by health checks; a target that is down receives no traffic. */
  healthy = true;
  /** When passive health took the target out without active checks to bring it back. */
  downUntil = 0;
  /** Smooth weighted round-robin state. */
  currentWeight = 0;

  constructor(
    settings: TargetSettings,
    readonly service: string,
    private readonly logger: Logger,
  ) {
    const url = settings.url;
    this.origin = url.origin;
    this.hostHeader = url.host;
    this.basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
    this.servername = url.hostname;
    this.weight = settings.weight;
    const https = url.protocol === 'https:';
    const allowH2 = https && settings.allowH2 === true;
    this.pool = new Pool(url.origin, {
      connections: settings.maxConnections,
      pipelining: 1,
      keepAliveTimeout: settings.keepAliveTimeoutMs,
      keepAliveMaxTimeout: Math.max(settings.keepAliveTimeoutMs, 1000),
      connect: https ? nameFromConfig(settings.connect ?? buildConnector({ timeout: settings.connectTimeoutMs, allowH2 })) : { timeout: settings.connectTimeoutMs },
      allowH2,
    });
    this.breaker = settings.breaker
      ? new Breaker(settings.breaker, (from, to) =>
          this.logger.warn({ service, target: this.origin, from, to }, `circuit breaker ${to}`),
        )
      : undefined;
  }

  /** Can this target take a request now (health and breaker)? */
  isAvailable(now: number): boolean {
    if (this.weight === 0) return false;
    if (!this.healthy) {
      if (this.downUntil === 0 || now < this.downUntil) return false;
      this.markHealthy('passive cooldown over');
    }
    return this.breaker ? this.breaker.isAvailable(now) : true;
  }

  markHealthy(reason: string): void {
    if (this.healthy) return;
    this.healthy = true;
    this.downUntil = 0;
    this.logger.info({ service: this.service, target: this.origin, reason }, 'target healthy');
  }

  markUnhealthy(reason: string, untilMs = 0): void {
    if (!this.healthy) return;
    this.healthy = false;
    this.downUntil = untilMs;
    this.logger.warn({ service: this.service, target: this.origin, reason }, 'target unhealthy');
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * undici hands the connector the server name of the request that opened the
 * connection, which it takes from the Host header: with preserve_host the
 * client would choose the name the upstream certificate is checked against
 * (and the SNI an upstream load balancer routes by), and tls.server_name
 * would be ignored whenever the target URL names a host. The connector's own
 * name is used instead: tls.server_name, else the target URL's host (none
 * for an IP address, which is then what the certificate is checked against).
 */
function nameFromConfig(connect: buildConnector.connector): buildConnector.connector {
  return (options, callback) => connect({ ...options, servername: undefined }, callback);
}
