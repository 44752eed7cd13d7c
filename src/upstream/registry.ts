/**
 * Keeps services (their pools, health state, breakers) alive across config
 * snapshots: a reload that leaves a service's config unchanged reuses it, so
 * connections stay warm and a target marked down stays down.
 */
import type { Logger } from 'pino';
import type { ServiceConfig } from '../config/schema.js';
import { Service } from './service.js';
import type { UpstreamTlsSettings } from './tls.js';
import type { CertificateInventory } from '../telemetry/certificates.js';

export class UpstreamRegistry {
  private services = new Map<string, { key: string; service: Service }>();
  /** What each prepared service was built from: its config, and the digest of the TLS files it read. */
  private readonly keys = new WeakMap<Service, string>();

  constructor(
    private readonly logger: Logger,
    private readonly inventory?: CertificateInventory,
  ) {}

  /**
   * Services for a new snapshot; nothing changes for the running one until
   * commit(). A service whose TLS files changed is rebuilt even when its
   * config text did not.
   */
  prepare(configs: readonly ServiceConfig[], tls: ReadonlyMap<string, UpstreamTlsSettings> = new Map()): Map<string, Service> {
    const result = new Map<string, Service>();
    for (const config of configs) {
      const material = tls.get(config.name);
      const key = JSON.stringify(config) + (material?.digest ?? '');
      const existing = this.services.get(config.name);
      if (existing?.key === key) {
        result.set(config.name, existing.service);
        continue;
      }
      const service = new Service(config, this.logger, material, this.inventory);
      this.keys.set(service, key);
      result.set(config.name, service);
    }
    return result;
  }

  /**
   * Makes `next` current and starts its new services. Returns the services
   * no longer used: the caller closes them once the requests still using
   * them have finished.
   */
  commit(next: Map<string, Service>): Service[] {
    const retired: Service[] = [];
    const keep = new Set(next.values());
    for (const { service } of this.services.values()) if (!keep.has(service)) retired.push(service);
    const current = new Map<string, { key: string; service: Service }>();
    for (const [name, service] of next) {
      const known = [...this.services.values()].some((s) => s.service === service);
      if (!known) service.start();
      current.set(name, { key: this.keys.get(service) ?? JSON.stringify(service.config), service });
    }
    this.services = current;
    return retired;
  }

  /** Drops services prepared for a snapshot that was never committed. */
  discard(prepared: Map<string, Service>): void {
    const live = new Set([...this.services.values()].map((s) => s.service));
    for (const service of prepared.values()) if (!live.has(service)) void service.close();
  }

  /** The services in use, for metrics read at scrape time. */
  *running(): Iterable<Service> {
    for (const { service } of this.services.values()) yield service;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.services.values()].map((s) => s.service.close()));
    this.services.clear();
  }
}
