/**
 * What the metrics read at scrape time, as small interfaces of their own:
 * telemetry/ imports neither upstream/ nor stores/ nor server/. The gateway's
 * registries satisfy them structurally (gateway.ts wires them).
 */
import type { SinkStatus } from '../hub.js';

export interface TargetView {
  readonly origin: string;
  /** Cleared by health checks. */
  readonly healthy: boolean;
  /** Passive health took the target out until then (ms since the epoch); 0 when active checks did (until they see it healthy). */
  readonly downUntil: number;
  readonly breaker: { readonly state: 'closed' | 'open' | 'half-open' } | undefined;
}

export interface ServiceView {
  readonly name: string;
  readonly targets: readonly TargetView[];
}

export interface StoreHealthView {
  readonly kind: string;
  readonly state: 'up' | 'down';
  readonly incidents: number;
  readonly failedOperations: number;
}

export interface CertificateView {
  readonly source: string;
  readonly role: string;
  readonly subject: string;
  readonly serial: string;
  readonly secondsLeft: number;
}

export interface OverloadView {
  readonly inFlight: number;
  readonly shed: number;
  /** The largest event loop delay in the last sample, in ms. */
  readonly lastDelayMs: number;
}

/** Everything read when Prometheus scrapes; each is called once per scrape. */
export interface ScrapeSources {
  services(): Iterable<ServiceView>;
  store(): StoreHealthView | undefined;
  certificates(): readonly CertificateView[];
  overload(): OverloadView | undefined;
  sinks(): readonly SinkStatus[];
  configVersion(): number;
}
