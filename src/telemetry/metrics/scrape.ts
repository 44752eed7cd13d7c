/**
 * The gauges and counters read from the gateway's parts when Prometheus
 * scrapes, never on the request path: upstream target health and breaker
 * state, the store, certificate expiry, overload, the event sinks and the
 * config version.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ScrapeSources } from './sources.js';

const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;

export function registerScrapeFamilies(registry: Registry, sources: ScrapeSources): void {
  const registers = [registry];

  new Gauge({
    name: 'portcullis_upstream_target_up',
    help: 'Whether the target is healthy: 0 while active health checks or passive health (until its cooldown ends) keep it out, else 1',
    labelNames: ['service', 'target'],
    registers,
    collect() {
      this.reset();
      const now = Date.now();
      for (const service of sources.services()) {
        // As Target.isAvailable sees it: passive health's cooldown over counts as healthy again.
        for (const t of service.targets) this.set({ service: service.name, target: t.origin }, t.healthy || (t.downUntil !== 0 && now >= t.downUntil) ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'portcullis_upstream_breaker_state',
    help: 'The circuit breaker state of each target with a breaker: 1 for the current state, 0 for the others',
    labelNames: ['service', 'target', 'state'],
    registers,
    collect() {
      this.reset();
      for (const service of sources.services()) {
        for (const t of service.targets) {
          if (!t.breaker) continue;
          for (const state of BREAKER_STATES) this.set({ service: service.name, target: t.origin, state }, t.breaker.state === state ? 1 : 0);
        }
      }
    },
  });

  new Gauge({
    name: 'portcullis_store_up',
    help: 'Whether the state store (memory or redis) answers: 1 up, 0 down',
    labelNames: ['store'],
    registers,
    collect() {
      this.reset();
      const store = sources.store();
      if (store) this.set({ store: store.kind }, store.state === 'up' ? 1 : 0);
    },
  });
  new Counter({
    name: 'portcullis_store_errors_total',
    help: 'State store operations that failed (unreachable, timed out) since the store was created',
    labelNames: ['store'],
    registers,
    collect() {
      this.reset();
      const store = sources.store();
      if (store) this.inc({ store: store.kind }, store.failedOperations);
    },
  });
  new Counter({
    name: 'portcullis_store_outages_total',
    help: 'Times the state store stopped answering since it was created',
    labelNames: ['store'],
    registers,
    collect() {
      this.reset();
      const store = sources.store();
      if (store) this.inc({ store: store.kind }, store.incidents);
    },
  });

  new Gauge({
    name: 'portcullis_certificate_expiry_days',
    help: 'Days until each certificate the gateway holds expires (negative once expired), by where it is used',
    labelNames: ['source', 'role', 'subject', 'serial'],
    registers,
    collect() {
      this.reset();
      for (const c of sources.certificates()) this.set({ source: c.source, role: c.role, subject: c.subject, serial: c.serial }, c.secondsLeft / 86_400);
    },
  });

  new Gauge({
    name: 'portcullis_in_flight_requests',
    help: 'Requests in progress, all listeners together (what gateway.limits.max_in_flight bounds)',
    registers,
    collect() {
      this.set(sources.overload()?.inFlight ?? 0);
    },
  });
  new Counter({
    name: 'portcullis_shed_requests_total',
    help: 'Requests refused with 503 because the gateway was overloaded (event loop lag or max_in_flight)',
    registers,
    collect() {
      this.reset();
      this.inc(sources.overload()?.shed ?? 0);
    },
  });
  new Gauge({
    name: 'portcullis_event_loop_lag_seconds',
    help: 'The largest event loop delay in the last 250 ms sample, as overload shedding sees it',
    registers,
    collect() {
      this.set((sources.overload()?.lastDelayMs ?? 0) / 1000);
    },
  });

  const sinkGauge = (name: string, help: string, read: (s: ReturnType<ScrapeSources['sinks']>[number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['sink', 'stream'],
      registers,
      collect() {
        this.reset();
        for (const s of sources.sinks()) this.set({ sink: s.name, stream: s.stream }, read(s));
      },
    });
  const sinkCounter = (name: string, help: string, read: (s: ReturnType<ScrapeSources['sinks']>[number]) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['sink', 'stream'],
      registers,
      collect() {
        this.reset();
        for (const s of sources.sinks()) this.inc({ sink: s.name, stream: s.stream }, read(s));
      },
    });
  sinkGauge('portcullis_sink_queued', 'Records waiting in memory for the sink', (s) => s.queued);
  sinkGauge('portcullis_sink_spooled', 'Records waiting in the sink\'s disk spool while its receiver is away', (s) => s.spooled);
  sinkCounter('portcullis_sink_sent_total', 'Records the sink delivered', (s) => s.sent);
  sinkCounter('portcullis_sink_dropped_total', 'Records the sink lost (spool full)', (s) => s.dropped);
  sinkCounter('portcullis_sink_failures_total', 'Failed delivery attempts of the sink', (s) => s.failures);

  new Gauge({
    name: 'portcullis_config_version',
    help: 'The version of the config serving: 1 at start, one more for each reload that took effect',
    registers,
    collect() {
      this.set(sources.configVersion());
    },
  });
}
