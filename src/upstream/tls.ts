/**
 * TLS toward upstreams: verify the upstream certificate (on by default, with
 * the system roots or a CA bundle), send SNI, pin public keys, and present a
 * client certificate, read from files or issued by the built-in CA and
 * renewed before it expires without a restart. Compiled per snapshot;
 * UpstreamTls is the live part a service's connection pools call.
 */
import { createHash, createPrivateKey, type X509Certificate } from 'node:crypto';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { buildConnector } from 'undici';
import type { Logger } from 'pino';
import { certificateInfo, parsePemCertificatesOrNone, spkiSha256 } from '../tls/cert-info.js';
import { spiffeIdProblem } from '../ca/spiffe.js';
import type { ConfigPath } from '../config/errors.js';
import type { ServiceConfig } from '../config/schema.js';
import { parseDuration } from '../config/units.js';
import { describeTlsMaterialError, pemName, readPem, type PemSource } from '../tls/pem.js';
import { certificateRecord, type CertificateInventory, type CertificateRecord } from '../telemetry/certificates.js';
import { IssuedIdentity, type IssueSettings } from './tls-identity.js';

export interface UpstreamTlsSettings {
  readonly service: string;
  /** tls.connect options shared by every connection (the client certificate comes separately). */
  readonly options: ConnectionOptions;
  readonly verify: boolean;
  readonly pins: ReadonlySet<string> | undefined;
  readonly clientCertificate: { readonly cert: Buffer; readonly key: Buffer; readonly passphrase: string | undefined } | undefined;
  readonly issue: IssueSettings | undefined;
  readonly records: readonly CertificateRecord[];
  readonly warnBeforeMs: number;
  /** Changes when any byte of the material or settings changes: a changed digest means a new service. */
  readonly digest: string;
}

type Report = (path: ConfigPath, message: string) => void;

/** Reads and checks every service's `tls`; problems are reported with their config path. */
export function compileServicesTls(services: readonly ServiceConfig[], baseDir: string, report: Report): Map<string, UpstreamTlsSettings> {
  const out = new Map<string, UpstreamTlsSettings>();
  services.forEach((service, i) => {
    const base: ConfigPath = ['services', i];
    const tls = service.tls;
    if (!tls) return;
    (service.targets ?? []).forEach((target, t) => {
      if (target.url.startsWith('http:')) report([...base, 'targets', t, 'url'], 'this service has tls settings, but the target is plain http://; use https:// (or drop tls)');
    });
    const compiled = compileOne(service, baseDir, (path, message) => report([...base, 'tls', ...path], message));
    if (compiled) out.set(service.name, compiled);
  });
  return out;
}

function compileOne(service: ServiceConfig, baseDir: string, report: Report): UpstreamTlsSettings | undefined {
  const tls = service.tls!;
  let failed = false;
  const fail: Report = (path, message) => {
    failed = true;
    report(path, message);
  };
  const digest = createHash('sha256').update(JSON.stringify(tls));
  const records: CertificateRecord[] = [];
  const warnBeforeMs = parseDuration(tls.expiry_warning);
  const source = `service:${service.name}`;
  const read = (value: string, path: ConfigPath): PemSource | undefined => {
    try {
      const pem = readPem(value, baseDir);
      digest.update(pem.data);
      return pem;
    } catch (err) {
      fail(path, (err as Error).message);
      return undefined;
    }
  };

  const options: ConnectionOptions = { minVersion: tls.min_version, rejectUnauthorized: tls.verify };
  if (tls.server_name) options.servername = tls.server_name;
  if (tls.ca) {
    const ca = read(tls.ca, ['ca']);
    if (ca) {
      const certs = parsePemCertificatesOrNone(ca.data);
      if (certs.length === 0) fail(['ca'], `${tls.ca} holds no PEM certificate`);
      options.ca = ca.data;
      for (const cert of certs) records.push(certificateRecord(source, 'upstream-ca', [], certificateInfo(cert), warnBeforeMs));
    }
  }

  let clientCertificate: UpstreamTlsSettings['clientCertificate'];
  if ((tls.cert === undefined) !== (tls.key === undefined)) fail([tls.cert === undefined ? 'cert' : 'key'], 'cert and key go together');
  if (tls.issue && tls.cert) fail(['issue'], 'use either cert/key or issue, not both');
  if (tls.cert && tls.key) {
    const cert = read(tls.cert, ['cert']);
    const key = read(tls.key, ['key']);
    if (cert && key) {
      const leaf = parsePemCertificatesOrNone(cert.data)[0];
      if (!leaf) fail(['cert'], `${pemName(tls.cert)} holds no PEM certificate`);
      else {
        const problem = keyProblem(leaf, key.data, tls.passphrase);
        if (problem) fail(['key'], `${pemName(tls.key)} with ${pemName(tls.cert)}: ${problem}`);
        else records.push(certificateRecord(source, 'upstream-client', [], certificateInfo(leaf), warnBeforeMs));
      }
      clientCertificate = { cert: cert.data, key: key.data, passphrase: tls.passphrase };
    }
  }

  let issue: IssueSettings | undefined;
  if (tls.issue) {
    const settings = tls.issue;
    const spiffeProblem = spiffeIdProblem(settings.spiffe);
    if (spiffeProblem) fail(['issue', 'spiffe'], spiffeProblem);
    const caCert = read(settings.ca_cert, ['issue', 'ca_cert']);
    const caKey = read(settings.ca_key, ['issue', 'ca_key']);
    const ttlMs = parseDuration(settings.ttl);
    const renewBeforeMs = settings.renew_before !== undefined ? parseDuration(settings.renew_before) : Math.floor(ttlMs / 3);
    if (renewBeforeMs >= ttlMs) fail(['issue', 'renew_before'], 'renew_before must be shorter than ttl');
    if (caCert && caKey) {
      const ca = parsePemCertificatesOrNone(caCert.data)[0];
      if (!ca) fail(['issue', 'ca_cert'], `${pemName(settings.ca_cert)} holds no PEM certificate`);
      else if (!ca.ca) fail(['issue', 'ca_cert'], `${pemName(settings.ca_cert)} is not a CA certificate`);
      else {
        const problem = keyProblem(ca, caKey.data, settings.ca_passphrase);
        if (problem) fail(['issue', 'ca_key'], `${pemName(settings.ca_key)} with ${pemName(settings.ca_cert)}: ${problem}`);
      }
      issue = {
        caCert: caCert.data,
        caKey: caKey.data,
        caPassphrase: settings.ca_passphrase,
        spiffe: settings.spiffe,
        dns: settings.dns ?? [],
        ttlMs,
        renewBeforeMs,
      };
    }
  }
  if (tls.pin_sha256) digest.update(tls.pin_sha256.join(','));
  if (failed) return undefined;
  return {
    service: service.name,
    options,
    verify: tls.verify,
    pins: tls.pin_sha256 ? new Set(tls.pin_sha256) : undefined,
    clientCertificate,
    issue,
    records,
    warnBeforeMs,
    digest: digest.digest('hex'),
  };
}

function keyProblem(cert: X509Certificate, key: Buffer, passphrase: string | undefined): string | undefined {
  try {
    const keyObject = createPrivateKey(passphrase === undefined ? { key } : { key, passphrase });
    return cert.checkPrivateKey(keyObject) ? undefined : 'the private key does not match the certificate';
  } catch (err) {
    return describeTlsMaterialError(err);
  }
}

export interface UpstreamTlsRuntime {
  readonly connectTimeoutMs: number;
  readonly allowH2: boolean;
  readonly logger: Logger;
  readonly inventory: CertificateInventory | undefined;
}

/**
 * The live TLS of one service: the connect function its pools use. With an
 * issued identity, the first connections wait for the first certificate, and
 * each renewal makes new connections present the new one.
 */
export class UpstreamTls {
  private connector: buildConnector.connector | undefined;
  private readonly identity: IssuedIdentity | undefined;
  private readonly ready: Promise<void>;
  private records: readonly CertificateRecord[];

  constructor(
    private readonly settings: UpstreamTlsSettings,
    private readonly runtime: UpstreamTlsRuntime,
  ) {
    this.records = settings.records;
    if (settings.issue) {
      this.identity = new IssuedIdentity(settings.issue, runtime.logger.child({ service: settings.service }), (issued) => {
        this.connector = this.build({ cert: issued.certPem, key: issued.keyPem });
        this.records = [...settings.records.filter((r) => r.role !== 'upstream-client'), certificateRecord(`service:${settings.service}`, 'upstream-client', [], issued.info, settings.warnBeforeMs)];
        runtime.inventory?.set(`service:${settings.service}`, this.records);
      });
      this.ready = this.identity.ready;
    } else {
      const client = settings.clientCertificate;
      this.connector = this.build(client ? { cert: client.cert, key: client.key, passphrase: client.passphrase } : {});
      this.ready = Promise.resolve();
    }
  }

  start(): void {
    if (!this.settings.verify) {
      this.runtime.logger.warn({ service: this.settings.service }, 'upstream certificate verification is OFF for this service (tls.verify: false)');
    }
    if (this.records.length > 0) this.runtime.inventory?.set(`service:${this.settings.service}`, this.records);
    this.identity?.start();
  }

  close(): void {
    this.identity?.stop();
    this.runtime.inventory?.deleteIf(`service:${this.settings.service}`, this.records);
  }

  /** undici's connect function for this service's pools. */
  readonly connect = (options: buildConnector.Options, callback: buildConnector.Callback): void => {
    const done = this.settings.pins ? this.checkPin(callback) : callback;
    if (this.connector) {
      this.connector(options, done);
      return;
    }
    this.ready.then(
      () => this.connector!(options, done),
      (err: Error) => callback(err, null),
    );
  };

  private build(identity: { cert?: string | Buffer; key?: string | Buffer; passphrase?: string }): buildConnector.connector {
    return buildConnector({
      ...this.settings.options,
      ...identity,
      timeout: this.runtime.connectTimeoutMs,
      allowH2: this.runtime.allowH2,
    });
  }

  /** Pins are checked on every connection, resumed ones too: Node skips its identity check when a session is resumed. */
  private checkPin(callback: buildConnector.Callback): buildConnector.Callback {
    const pins = this.settings.pins!;
    return (err, socket) => {
      if (err || !socket) {
        callback(err ?? new Error('no socket'), null);
        return;
      }
      const cert = (socket as TLSSocket).getPeerX509Certificate?.();
      const pin = cert ? spkiSha256(cert) : undefined;
      if (pin !== undefined && pins.has(pin)) {
        callback(null, socket);
        return;
      }
      socket.destroy();
      const error = Object.assign(new Error(`the upstream's public key (sha256 ${pin ?? 'none'}) matches no pin_sha256`), { code: 'ERR_TLS_PIN_MISMATCH' });
      callback(error, null);
    };
  }
}

/** Error codes of TLS failures (node:tls and OpenSSL's X509 verification), for a log line that says what went wrong. */
const TLS_CODES = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_TLS_PIN_MISMATCH',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);

/** "upstream TLS: ..." when `code` is a TLS failure, undefined otherwise. */
export function isTlsFailure(code: string): boolean {
  return TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_');
}
