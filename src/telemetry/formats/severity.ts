/** One severity scale, mapped to each format's own. */
import type { Severity } from '../event.js';
import type { SinkRecord } from './record.js';

/** An access record's severity: a server error is worth a look, the rest is routine. */
export function severityOf(record: SinkRecord): Severity {
  if (record.stream === 'events') return record.event.severity;
  return record.access.status >= 500 ? 'low' : 'info';
}

/** CEF: 0-10 (ArcSight reads 0-3 low, 4-6 medium, 7-8 high, 9-10 very high). */
export const CEF_SEVERITY: Readonly<Record<Severity, number>> = { info: 1, low: 3, medium: 5, high: 8, critical: 10 };

/** OCSF severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical. (Objects, not pairs: array destructuring is slow here.) */
export const OCSF_SEVERITY: Readonly<Record<Severity, { readonly id: number; readonly name: string }>> = {
  info: { id: 1, name: 'Informational' },
  low: { id: 2, name: 'Low' },
  medium: { id: 3, name: 'Medium' },
  high: { id: 4, name: 'High' },
  critical: { id: 5, name: 'Critical' },
};

/** ECS event.severity is numeric and source-defined: the syslog-like 0-7 reversed would confuse; use 1-5 like OCSF. */
export const ECS_SEVERITY: Readonly<Record<Severity, number>> = { info: 1, low: 2, medium: 3, high: 4, critical: 5 };

/** RFC 5424 severity (0 emergency ... 7 debug). */
export const SYSLOG_SEVERITY: Readonly<Record<Severity, number>> = { info: 6, low: 5, medium: 4, high: 3, critical: 2 };
