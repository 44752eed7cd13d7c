/**
 * The gateway's own client certificate toward upstreams, issued by the
 * built-in CA (SPIFFE ID in the URI SAN) and renewed before it expires, in
 * the running process: no restart, no file. A failed renewal is retried and
 * logged; the current certificate serves until it expires.
 */
import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { CertificateAuthority } from '../ca/authority.js';
import { certificateInfo, type CertificateInfo } from '../tls/cert-info.js';
import { MAX_TIMER_MS } from '../config/units.js';

export interface IssueSettings {
  readonly caCert: Buffer;
  readonly caKey: Buffer;
  readonly caPassphrase: string | undefined;
  readonly spiffe: string;
  readonly dns: readonly string[];
  readonly ttlMs: number;
  readonly renewBeforeMs: number;
}

export interface IssuedPair {
  readonly certPem: string;
  readonly keyPem: string;
  readonly info: CertificateInfo;
}

const RETRY_MS = 30_000;

export class IssuedIdentity {
  /** Settles with the first certificate (or the first failure). */
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (err: Error) => void;
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private authority: Promise<CertificateAuthority> | undefined;
  private current: IssuedPair | undefined;

  constructor(
    private readonly settings: IssueSettings,
    private readonly logger: Logger,
    private readonly onIssued: (pair: IssuedPair) => void,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Connections waiting for the first certificate see the failure; nobody else must.
    this.ready.catch(() => {});
  }

  start(): void {
    if (this.timer || this.current) return;
    void this.renew();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    try {
      // Loaded on first use: most gateways never issue, and the X.509 library is slow to load.
      this.authority ??= import('../ca/authority.js').then(({ CertificateAuthority }) =>
        CertificateAuthority.load(this.settings.caCert, this.settings.caKey, this.settings.caPassphrase),
      );
      const ca = await this.authority;
      const issued = await ca.issue({ spiffe: this.settings.spiffe, dns: this.settings.dns, ttlMs: this.settings.ttlMs, usage: 'client' });
      if (this.stopped) return;
      const info = certificateInfo(new X509Certificate(issued.certPem));
      this.current = { certPem: issued.certPem, keyPem: issued.keyPem, info };
      this.onIssued(this.current);
      this.logger.info({ spiffe: this.settings.spiffe, serial: info.serial, not_after: info.notAfter.toISOString() }, 'upstream client certificate issued');
      this.settle();
      this.schedule(Math.max(1000, info.notAfter.getTime() - this.settings.renewBeforeMs - Date.now()));
    } catch (err) {
      this.authority = undefined;
      const expired = !this.current || this.current.info.notAfter.getTime() <= Date.now();
      this.logger.error(
        { spiffe: this.settings.spiffe, err: (err as Error).message, retry_in_ms: RETRY_MS, current_valid: !expired },
        'upstream client certificate could not be issued',
      );
      if (!this.settled) {
        this.settled = true;
        this.rejectReady(new Error(`could not issue the upstream client certificate: ${(err as Error).message}`));
      }
      this.schedule(RETRY_MS);
    }
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveReady();
  }

  /**
   * Renews in `ms`. A long-lived certificate's renewal can be further off
   * than a Node timer can wait (it would fire after 1 ms, and issue again and
   * again): such a wait is taken in steps.
   */
  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const dueAt = Date.now() + ms;
    const wake = () => {
      const left = dueAt - Date.now();
      if (left > 0) this.timer = setTimeout(wake, Math.min(left, MAX_TIMER_MS)).unref();
      else void this.renew();
    };
    this.timer = setTimeout(wake, Math.min(ms, MAX_TIMER_MS)).unref();
  }
}
