/**
 * Security events: typed records of refusals and detections, collected on the
 * request context for telemetry and automatic response to consume. A policy
 * never writes to a sink itself.
 */
/** The event type of "no credentials presented": only these refusals let `anonymous` apply. */
export const MISSING_CREDENTIALS = 'auth.missing_credentials';

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

export interface SecurityEventDetails {
  /** A stable name such as "auth.missing_credentials" or "waf.sqli". */
  readonly type?: string;
  readonly severity?: Severity;
  readonly reason?: string;
  /** Extra fields; never a secret, and samples are truncated and redacted by the policy. */
  readonly data?: Readonly<Record<string, string | number | boolean>>;
}

export interface SecurityEvent {
  readonly type: string;
  readonly severity: Severity;
  readonly policy: string;
  readonly route: string | undefined;
  readonly consumer: string | undefined;
  readonly clientIp: string;
  readonly requestId: string;
  /** enforce: the request was refused; monitor: it would have been. */
  readonly action: 'blocked' | 'monitored';
  readonly status: number;
  readonly code: string;
  readonly reason: string | undefined;
  readonly data: Readonly<Record<string, string | number | boolean>> | undefined;
}
