/**
 * Renews a listener's certificates that name `renew:` from the built-in CA
 * before they expire: a new key and a certificate for the same names, written
 * over the configured files (each atomically, by rename), then served at once
 * (the front reloads its material). Files rather than memory, so a restart
 * serves the renewed certificate without the CA. A failed renewal is logged
 * and retried every minute while the certificate on disk still serves.
 */
import { X509Certificate } from 'node:crypto';
import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { CertificateAuthority } from '../../ca/authority.js';
import { MAX_TIMER_MS } from '../../config/units.js';
import type { EmitGatewayEvent } from '../../telemetry/gateway-events.js';
import type { RenewalPlan } from './material.js';

const RETRY_MS = 60_000;

export class CertificateRenewer {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly listener: string,
    private readonly logger: Logger,
    /** Called once new files are in place: the front loads and serves them. */
    private readonly onRenewed: () => void,
    private readonly events: EmitGatewayEvent | undefined,
  ) {}

  /** Schedules exactly these renewals from now on (the material just loaded carries each certificate's expiry). */
  plan(plans: readonly RenewalPlan[]): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const plan of plans) this.schedule(plan, plan.notAfter.getTime() - plan.renewBeforeMs - Date.now());
  }

  close(): void {
    this.closed = true;
    this.plan([]);
  }

  /** A wait longer than a Node timer can take is taken in steps (it would fire at once otherwise). */
  private schedule(plan: RenewalPlan, ms: number): void {
    if (this.closed) return;
    const dueAt = Date.now() + Math.max(0, ms);
    const wake = () => {
      const left = dueAt - Date.now();
      if (left > 0) this.timers.set(plan.certFile, setTimeout(wake, Math.min(left, MAX_TIMER_MS)).unref());
      else void this.renew(plan);
    };
    wake();
  }

  private async renew(plan: RenewalPlan): Promise<void> {
    if (this.closed) return;
    try {
      // Loaded on first use: the X.509 library is slow to load, and most listeners never renew.
      const { CertificateAuthority } = await import('../../ca/authority.js');
      const ca: CertificateAuthority = await CertificateAuthority.load(plan.caCert, plan.caKey, plan.caPassphrase);
      const issued = await ca.issue({ dns: plan.dns, ips: plan.ips, ttlMs: plan.ttlMs, usage: 'server' });
      if (this.closed) return;
      // A certificate never outlives its CA: near the CA's own expiry the new one would be due again at
      // once, and renewing would loop. Never replace a certificate with one that does not last longer.
      const notAfter = new Date(new X509Certificate(issued.certPem).validTo);
      if (notAfter.getTime() <= plan.notAfter.getTime() + 60_000) {
        throw new Error(`the CA issues nothing that lasts longer than the certificate in place (until ${plan.notAfter.toISOString()}): it expires itself; renew the CA`);
      }
      // The key first: a certificate never sits on disk beside a key it does not match for longer than a rename.
      writeAtomically(plan.keyFile, issued.keyPem, 0o600);
      writeAtomically(plan.certFile, issued.certPem, 0o644);
      this.logger.info({ listener: this.listener, file: plan.certFile, previous_serial: plan.serial }, 'listener certificate renewed from the built-in CA');
      this.events?.({
        type: 'certificate.renewed',
        source: 'certificates',
        message: `listener ${this.listener}: certificate ${plan.certFile} renewed`,
        details: { source: `listener:${this.listener}`, file: plan.certFile, previous_serial: plan.serial },
      });
      this.onRenewed();
    } catch (err) {
      const message = (err as Error).message;
      this.logger.error({ listener: this.listener, file: plan.certFile, err: message, retry_in_ms: RETRY_MS }, 'listener certificate could not be renewed');
      this.events?.({
        type: 'certificate.renewal_failed',
        source: 'certificates',
        message: `listener ${this.listener}: certificate ${plan.certFile} could not be renewed`,
        details: { source: `listener:${this.listener}`, file: plan.certFile, not_after: plan.notAfter.toISOString() },
      });
      this.schedule(plan, RETRY_MS);
    }
  }
}

function writeAtomically(file: string, data: string, mode: number): void {
  const temporary = `${file}.renew-${process.pid}`;
  // A leftover of a crash goes first; then exclusive creation, which follows no symlink planted in its place.
  rmSync(temporary, { force: true });
  writeFileSync(temporary, data, { mode, flag: 'wx' });
  chmodSync(temporary, mode);
  renameSync(temporary, file);
}
