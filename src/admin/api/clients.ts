/**
 * Admin mTLS: a client certificate that chains to admin.tls.client_ca and
 * matches one of admin.api.clients (by SHA-256 fingerprint, subject CN or one
 * subject alternative name) is that client: its name and role, like a token's.
 *
 * A browser presents its client certificate on every request to the
 * listener, whoever's page made it, so a certificate is ambient authority
 * like a cookie: a request another site's page made (Sec-Fetch-Site
 * cross-site or same-site, or an Origin that is not the listener's own) is
 * not taken on a certificate (crossSite()). Tokens travel only in a header a
 * page of another origin cannot set, and need no such check.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import type { AdminApiConfig } from '../../config/admin.js';
import type { Principal } from './tokens.js';

export type CertificateOutcome = { principal: Principal } | { refused: 'untrusted_certificate' | 'unknown_certificate' } | undefined;

const hex = (fingerprint: string) => fingerprint.replace(/:/g, '').toLowerCase();

/** The subject's CN, when it has exactly one (two CNs match nothing: which one was meant is not for us to guess). */
function commonName(cert: X509Certificate): string | undefined {
  const cns = cert.subject.split('\n').filter((l) => l.startsWith('CN='));
  return cns.length === 1 ? cns[0]!.slice(3) : undefined;
}

/** The SAN entries as Node prints them ("DNS:a, URI:b"); an entry Node had to quote (it holds ", ") matches nothing. */
function sans(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '').split(', ').filter((e) => e !== '');
}

/**
 * Who the request's client certificate is: undefined when none was presented
 * (or the listener is plain HTTP), refused when it does not chain to the
 * client CA or matches no configured client.
 */
export function certificateClient(req: IncomingMessage, api: AdminApiConfig): CertificateOutcome {
  const socket = req.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerX509Certificate !== 'function') return undefined;
  const cert = socket.getPeerX509Certificate();
  if (!cert) return undefined;
  // authorizationError as well: it is what a later handshake on the same socket leaves (renegotiation is off; a second guard).
  if (socket.authorized !== true || socket.authorizationError) return { refused: 'untrusted_certificate' };
  const fingerprint = hex(cert.fingerprint256);
  const cn = commonName(cert);
  const names = sans(cert);
  for (const c of api.clients ?? []) {
    const match =
      (c.fingerprint_sha256 !== undefined && hex(c.fingerprint_sha256) === fingerprint) ||
      (c.subject_cn !== undefined && c.subject_cn === cn) ||
      (c.san !== undefined && names.includes(c.san));
    if (match) return { principal: { name: c.name, role: c.role, via: 'certificate' } };
  }
  return { refused: 'unknown_certificate' };
}

/** A request another site's page made the browser send (the certificate would go with it unasked). */
export function crossSite(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}
