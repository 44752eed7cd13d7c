/**
 * The wire between a control plane and its data planes: HTTPS (TLS 1.3,
 * mutual) on the control plane's fleet listener.
 *
 *   GET  /fleet/v1/config   If-None-Match: "<hash>" → 200 the pushed YAML (ETag: "<hash>"),
 *                           or, when the node already runs it, held open until a new
 *                           version exists (then 200) or poll_timeout passes (304): a long poll.
 *   POST /fleet/v1/report   the node's state (JSON); 204.
 *   POST /fleet/v1/renew    { csr } → a fresh certificate for the same node (JSON, as enrol answers).
 *   POST /fleet/v1/enrol    { token, name, csr } without a client certificate → { cert, ca, serial, not_after }.
 *                           The node makes its key pair; only a certificate request signed with it travels.
 *
 * Identities are SPIFFE IDs in the certificates the fleet CA issues: a node's
 * certificate is a client certificate for spiffe://portcullis.fleet/node/<name>,
 * the control plane's a server certificate for spiffe://portcullis.fleet/control-plane.
 * Each side checks the other's, so that another certificate of the same CA (a
 * service's, or a node's used as a server) is refused.
 */
import { checkServerIdentity, type PeerCertificate } from 'node:tls';

export const PATHS = { config: '/fleet/v1/config', report: '/fleet/v1/report', renew: '/fleet/v1/renew', enrol: '/fleet/v1/enrol' } as const;

export const TRUST_DOMAIN = 'portcullis.fleet';
export const CONTROL_PLANE_ID = `spiffe://${TRUST_DOMAIN}/control-plane`;
const NODE_PREFIX = `spiffe://${TRUST_DOMAIN}/node/`;

export function nodeId(name: string): string {
  return NODE_PREFIX + name;
}

/** URIs of a peer certificate's subjectAltName ("URI:spiffe://…, DNS:…"). */
function uris(cert: PeerCertificate): string[] {
  return (cert.subjectaltname ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice(4));
}

/** The node name a certificate was issued for, or undefined when it is no node certificate. */
export function nodeNameOf(cert: PeerCertificate): string | undefined {
  const ids = uris(cert).filter((uri) => uri.startsWith(NODE_PREFIX));
  if (ids.length !== 1) return undefined;
  const name = ids[0]!.slice(NODE_PREFIX.length);
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) ? name : undefined;
}

/** A data plane's check of the control plane: the host name as usual, and the control plane's SPIFFE ID. */
export function checkControlPlane(host: string, cert: PeerCertificate): Error | undefined {
  const hostProblem = checkServerIdentity(host, cert);
  if (hostProblem) return hostProblem;
  if (!uris(cert).includes(CONTROL_PLANE_ID)) return new Error(`the certificate is not the control plane's (no ${CONTROL_PLANE_ID})`);
  return undefined;
}

/** The most a report or an enrolment request may weigh. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** The most an enrolment or renewal answer may weigh (two certificates). */
export const MAX_CREDENTIALS_BYTES = 64 * 1024;

/** What a data plane reports. */
export interface NodeReport {
  /** The pushed version it runs (hash), when any. */
  readonly hash?: string;
  /** Its gateway's own version counter. */
  readonly version: number;
  readonly ready: boolean;
  readonly reasons?: readonly string[];
  /** Requests answered since start, by status class, when its metrics are on. */
  readonly requests?: Readonly<Record<string, number>>;
  /** The last version it was pushed and refused, with the issues (file:line: path: message). */
  readonly refused?: { readonly hash: string; readonly issues: readonly string[] };
  readonly started_at: string;
  /** What it runs: "portcullis 0.1.0 on node v20.19.0" (a fleet mid-upgrade shows both). */
  readonly software?: string;
}

/** What enrolment and renewal answer: the node's key never travels (csr.ts). */
export interface Credentials {
  readonly cert: string;
  readonly ca: string;
  readonly serial: string;
  readonly not_after: string;
}
