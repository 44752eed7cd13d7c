/**
 * Reads the client certificate of a TLS connection once, when the handshake
 * completes, and keeps it on the socket for every request the connection
 * carries (HTTP/1.1 keep-alive or HTTP/2 streams).
 */
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { certificateInfo } from '../../tls/cert-info.js';
import type { ClientCertificate } from '../../pipeline/client-certificate.js';

const PEER = Symbol('portcullis.client-certificate');

type WithPeer = { [PEER]?: ClientCertificate };

/** Reads and stores the peer certificate; undefined when the client sent none. */
export function readClientCertificate(socket: TLSSocket): ClientCertificate | undefined {
  const cert = socket.getPeerX509Certificate();
  if (!cert) return undefined;
  const info = certificateInfo(cert);
  const identity: ClientCertificate = {
    verified: socket.authorized,
    error: socket.authorized ? undefined : String(socket.authorizationError ?? 'UNVERIFIED'),
    subject: info.subject,
    subjectAttributes: info.subjectAttributes,
    uris: info.uris,
    dns: info.dns,
    emails: info.emails,
    fingerprint256: info.fingerprint256,
    issuerFingerprints: issuersOf(socket),
    serial: info.serial,
    notAfter: info.notAfter,
    forwarded: forwardedValue(info.fingerprint256, info.subject, info.uris, info.dns),
  };
  (socket as WithPeer)[PEER] = identity;
  return identity;
}

/** The fingerprints of the certificates above the peer's in its chain (as OpenSSL built it), at most 8. */
function issuersOf(socket: TLSSocket): string[] {
  const out: string[] = [];
  const leaf = socket.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
  for (let at = leaf?.issuerCertificate; at?.fingerprint256 && out.length < 8 && at !== leaf; at = at.issuerCertificate) {
    const fingerprint = at.fingerprint256.replace(/:/g, '').toLowerCase();
    if (out.includes(fingerprint)) break; // a self-signed root is its own issuer
    out.push(fingerprint);
  }
  return out;
}

/**
 * The identity stored on a request's socket. For HTTP/2 requests the socket
 * Node hands out is a proxy that reads properties through to the TLS socket,
 * so the same lookup works for both protocols.
 */
export function clientCertificateOf(socket: object): ClientCertificate | undefined {
  return (socket as WithPeer)[PEER];
}

/** Envoy's X-Forwarded-Client-Cert element: key=value pairs joined by ";", values with , ; = or " quoted. */
function forwardedValue(hash: string, subject: string, uris: readonly string[], dns: readonly string[]): string {
  const parts = [`Hash=${hash}`, `Subject=${quote(subject, true)}`];
  for (const uri of uris) parts.push(`URI=${quote(uri, false)}`);
  for (const name of dns) parts.push(`DNS=${quote(name, false)}`);
  return parts.join(';');
}

function quote(value: string, always: boolean): string {
  const clean = asciiOnly(value);
  return always || /[,;="]/.test(clean) ? `"${clean.replace(/(["\\])/g, '\\$1')}"` : clean;
}

/**
 * A header value must be printable ASCII to be safe everywhere: other
 * characters become \HH escapes of their UTF-8 bytes, as RFC 4514 writes them.
 */
function asciiOnly(value: string): string {
  return value.replace(/[^\x20-\x7e]/gu, (ch) => [...Buffer.from(ch, 'utf8')].map((b) => `\\${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}
