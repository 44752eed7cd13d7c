/**
 * Every certificate the gateway holds (listener certificates, client CAs,
 * upstream client certificates) with its expiry: logged when loaded, warned
 * about ahead of time, and read at each scrape by the metrics
 * (`portcullis_certificate_expiry_days{source,role,subject,serial}`,
 * telemetry/metrics/scrape.ts).
 */
import type { Logger } from 'pino';
import type { EmitGatewayEvent } from './gateway-events.js';

export type CertificateRole = 'server' | 'client-ca' | 'upstream-client' | 'upstream-ca';

export interface CertificateRecord {
  /** "listener:public", "service:orders". */
  readonly source: string;
  readonly role: CertificateRole;
  readonly hosts: readonly string[];
  readonly subject: string;
  readonly serial: string;
  readonly fingerprint256: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Warn this long before notAfter. */
  readonly warnBeforeMs: number;
}

/** The inventory's record of one certificate, from what was read of it. */
export function certificateRecord(
  source: string,
  role: CertificateRole,
  hosts: readonly string[],
  info: Pick<CertificateRecord, 'subject' | 'serial' | 'fingerprint256' | 'notBefore' | 'notAfter'>,
  warnBeforeMs: number,
): CertificateRecord {
  return {
    source,
    role,
    hosts,
    subject: info.subject,
    serial: info.serial,
    fingerprint256: info.fingerprint256,
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    warnBeforeMs,
  };
}

export interface CertificateGauge {
  readonly source: string;
  readonly role: CertificateRole;
  readonly subject: string;
  readonly serial: string;
  readonly notAfter: Date;
  /** Seconds until expiry; negative once expired. */
  readonly secondsLeft: number;
}

const CHECK_EVERY_MS = 3_600_000;
const WARN_AGAIN_MS = 86_400_000;

export class CertificateInventory {
  private readonly bySource = new Map<string, readonly CertificateRecord[]>();
  /** fingerprint → when its last warning was logged. */
  private readonly warned = new Map<string, number>();
  /** fingerprint → when its last event was emitted (apart from the log: events start once the bus exists). */
  private readonly reported = new Map<string, number>();
  private events: EmitGatewayEvent | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly logger: Logger) {}

  /**
   * Expiry warnings go to the event stream from now on too; certificates
   * already inside their window (loaded before the stream existed) are
   * reported at once.
   */
  reportTo(events: EmitGatewayEvent): void {
    this.events = events;
    this.check();
  }

  /** Replaces what `source` holds; new certificates are logged, near-expiry ones warned about. */
  set(source: string, records: readonly CertificateRecord[]): void {
    const known = new Set((this.bySource.get(source) ?? []).map((r) => r.fingerprint256));
    this.bySource.set(source, records);
    const now = Date.now();
    for (const record of records) {
      if (known.has(record.fingerprint256)) continue;
      this.logger.info(
        {
          source: record.source,
          role: record.role,
          hosts: record.hosts,
          subject: record.subject,
          serial: record.serial,
          not_after: record.notAfter.toISOString(),
          days_left: Math.floor((record.notAfter.getTime() - now) / 86_400_000),
        },
        'certificate loaded',
      );
    }
    this.check(now);
    this.startTimer();
  }

  delete(source: string): void {
    this.bySource.delete(source);
    if (this.bySource.size === 0) this.stop();
  }

  /** Deletes `source` only if it still holds `records` (a successor may already have replaced them). */
  deleteIf(source: string, records: readonly CertificateRecord[]): void {
    if (this.bySource.get(source) === records) this.delete(source);
  }

  /** The gauge: one value per certificate held. */
  gauge(now = Date.now()): CertificateGauge[] {
    const out: CertificateGauge[] = [];
    for (const records of this.bySource.values()) {
      for (const r of records) {
        out.push({ source: r.source, role: r.role, subject: r.subject, serial: r.serial, notAfter: r.notAfter, secondsLeft: Math.floor((r.notAfter.getTime() - now) / 1000) });
      }
    }
    return out;
  }

  /** Logs a warning (at most daily per certificate) for each one inside its warning window. */
  check(now = Date.now()): void {
    for (const records of this.bySource.values()) {
      for (const r of records) {
        const left = r.notAfter.getTime() - now;
        if (left > r.warnBeforeMs) continue;
        this.report(r, left, now);
        const last = this.warned.get(r.fingerprint256);
        if (last !== undefined && now - last < WARN_AGAIN_MS) continue;
        this.warned.set(r.fingerprint256, now);
        const fields = { source: r.source, role: r.role, hosts: r.hosts, subject: r.subject, serial: r.serial, not_after: r.notAfter.toISOString() };
        if (left <= 0) this.logger.error(fields, 'certificate expired');
        else this.logger.warn({ ...fields, days_left: Math.floor(left / 86_400_000), hours_left: Math.floor(left / 3_600_000) }, 'certificate expires soon');
      }
    }
  }

  private report(r: CertificateRecord, left: number, now: number): void {
    if (!this.events) return;
    const last = this.reported.get(r.fingerprint256);
    if (last !== undefined && now - last < WARN_AGAIN_MS) return;
    this.reported.set(r.fingerprint256, now);
    const details = { source: r.source, role: r.role, subject: r.subject, serial: r.serial, not_after: r.notAfter.toISOString() };
    if (left <= 0) this.events({ type: 'certificate.expired', source: 'certificates', message: `certificate ${r.source} expired`, details });
    else {
      const days = Math.floor(left / 86_400_000);
      this.events({ type: 'certificate.expiring', source: 'certificates', message: `certificate ${r.source} expires in ${days} days`, details: { ...details, days_left: days } });
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }
}
