/** `portcullis ca inspect FILE`: what an operator needs to know about a certificate, one fact a line. */
import { X509Certificate } from 'node:crypto';
import { certificateInfo, parsePemCertificates } from '../tls/cert-info.js';

export function describeCertificates(pem: string | Buffer, now = new Date()): string {
  let certs = parsePemCertificates(pem);
  if (certs.length === 0) {
    // A DER file, perhaps.
    try {
      certs = [new X509Certificate(typeof pem === 'string' ? Buffer.from(pem, 'latin1') : pem)];
    } catch {
      throw new Error('no certificate found (expected PEM "-----BEGIN CERTIFICATE-----" or DER)');
    }
  }
  return certs.map((cert, i) => describeOne(cert, now, certs.length > 1 ? `certificate ${i + 1} of ${certs.length}` : undefined)).join('\n');
}

function describeOne(cert: X509Certificate, now: Date, heading: string | undefined): string {
  const info = certificateInfo(cert);
  const sans = [
    ...info.uris.map((v) => `URI:${v}`),
    ...info.dns.map((v) => `DNS:${v}`),
    ...info.ips.map((v) => `IP:${v}`),
    ...info.emails.map((v) => `email:${v}`),
  ];
  const lines: Array<[string, string]> = [
    ['subject', info.subject || '(empty)'],
    ['issuer', info.issuer || '(empty)'],
    ['names', sans.length > 0 ? sans.join(', ') : '(none)'],
    ['serial', info.serial],
    ['not before', info.notBefore.toISOString()],
    ['not after', `${info.notAfter.toISOString()} (${remaining(info.notBefore, info.notAfter, now)})`],
    ['key', info.keyType],
    ['ca', info.isCa ? 'yes' : 'no'],
    ['sha256', info.fingerprint256],
    ['spki sha256', `${info.spkiSha256} (for pin_sha256)`],
  ];
  const out = lines.map(([label, value]) => `${`${label}:`.padEnd(13)}${value}`);
  if (heading) out.unshift(`# ${heading}`);
  return out.join('\n') + '\n';
}

function remaining(notBefore: Date, notAfter: Date, now: Date): string {
  if (now < notBefore) return `not valid yet: starts in ${span(notBefore.getTime() - now.getTime())}`;
  const left = notAfter.getTime() - now.getTime();
  return left <= 0 ? `EXPIRED ${span(-left)} ago` : `valid for ${span(left)}`;
}

function span(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes % 60}m`;
  return minutes > 0 ? `${minutes}m` : `${Math.max(0, Math.floor(ms / 1000))}s`;
}
