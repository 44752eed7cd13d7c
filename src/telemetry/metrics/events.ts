/**
 * What the metrics count from the event bus: refusals (and monitor-mode
 * would-be refusals) by route, policy and code; authentication failures by
 * method and reason; waf hits by category and action. Events are few (one
 * per refused or flagged request), so counting them here costs the allowed
 * requests nothing.
 */
import type { Registry } from 'prom-client';
import type { TelemetryEvent } from '../event.js';
import { BoundedCounter } from './bounded-counter.js';
import { NONE } from './route-cells.js';

/** Series per family at most; a guard, the vocabularies are far smaller. */
const MAX_SERIES = 2000;

/** A reason usable as a label: a stable token ("wrong_issuer"), else the event type's last part ("invalid_credentials"). */
export function reasonLabel(event: TelemetryEvent): string {
  const reason = event.reason;
  if (reason !== undefined && /^[a-z][a-z0-9_]{0,47}$/.test(reason)) return reason;
  const dot = event.type.indexOf('.');
  const tail = dot < 0 ? event.type : event.type.slice(dot + 1);
  return /^[a-z][a-z0-9_.]{0,47}$/.test(tail) ? tail : 'unknown';
}

export class EventCounters {
  private readonly refusals: BoundedCounter;
  private readonly authFailures: BoundedCounter;
  private readonly wafHits: BoundedCounter;

  constructor(registry: Registry) {
    this.refusals = new BoundedCounter(
      {
        name: 'portcullis_refusals_total',
        help: 'Requests refused (action="blocked") or that would have been in monitor mode (action="monitored"), by route, deciding policy and error code',
        labelNames: ['route', 'policy', 'code', 'action'],
        registry,
      },
      MAX_SERIES,
    );
    this.authFailures = new BoundedCounter(
      {
        name: 'portcullis_auth_failures_total',
        help: 'Failed authentication attempts by method (the policy) and reason',
        labelNames: ['method', 'reason', 'action'],
        registry,
      },
      MAX_SERIES,
    );
    this.wafHits = new BoundedCounter(
      { name: 'portcullis_waf_hits_total', help: 'Requests the waf blocked or flagged (monitor mode), by attack category', labelNames: ['category', 'action'], registry },
      MAX_SERIES,
    );
  }

  readonly listener = (event: TelemetryEvent): void => {
    const action = event.action;
    if (action !== 'blocked' && action !== 'monitored') return;
    if (event.code !== undefined) this.refusals.inc([event.request?.route ?? NONE, event.source, event.code, action]);
    if (event.category === 'authentication') this.authFailures.inc([event.source, reasonLabel(event), action]);
    if (event.type.startsWith('waf.')) this.wafHits.inc([event.type.slice(4), action]);
  };
}
