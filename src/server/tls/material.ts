/**
 * A listener's TLS material, loaded and checked: one secure context per
 * certificate (chosen by SNI), the server's own context for clients without
 * SNI, and the facts the gateway reports (files to watch, expiry dates).
 * Nothing here is live: a TlsFront serves it, and swaps it for a newer one.
 */
import { createHash } from 'node:crypto';
import { constants as cryptoConstants } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { certificateInfo, parsePemCertificatesOrNone, type CertificateInfo } from '../../tls/cert-info.js';
import { pemBlocks } from '../../tls/pem-blocks.js';
import { x509Sync } from '../../ca/x509-lazy.js';
import type { ConfigPath } from '../../config/errors.js';
import type { ListenerCertificateConfig, ListenerTlsConfig } from '../../config/tls-schema.js';
import { parseDuration } from '../../config/units.js';
import { certificateRecord, type CertificateRecord } from '../../telemetry/certificates.js';
import { describeTlsMaterialError, pemName, readPem, type PemSource } from '../../tls/pem.js';
import { SniTable } from './sni.js';

/** TLS 1.3 suites: all AEAD. */
export const TLS13_SUITES = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256'];

/** TLS 1.2: forward-secret (ECDHE) key exchange with AEAD ciphers only; no CBC, no static RSA, no finite-field DHE. */
export const DEFAULT_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
];

export const ECDH_CURVES = 'X25519:P-256:P-384';

export type ClientAuthMode = 'none' | 'optional' | 'required';

export interface ListenerTls {
  readonly listener: string;
  /** The options of the server's own context: clients without SNI or with an unknown name get it. */
  readonly serverContext: SecureContextOptions;
  readonly sni: SniTable<SecureContext>;
  readonly clientAuth: ClientAuthMode;
  /** Files to watch for rotation (absolute paths). */
  readonly files: readonly string[];
  readonly certificates: readonly CertificateRecord[];
  /** Changes when any byte of the material or its settings changes. */
  readonly digest: string;
  /** Problems worth a log line that do not stop the material from being used (expired certificate, lapsing CRL). */
  readonly warnings: readonly string[];
  /** The certificates the gateway renews itself from the built-in CA (`renew:`), with what it needs to. */
  readonly renewals: readonly RenewalPlan[];
}

/** A certificate to renew from the built-in CA before `notAfter - renewBeforeMs`: same names, new key, same files. */
export interface RenewalPlan {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caCert: Buffer;
  readonly caKey: Buffer;
  readonly caPassphrase: string | undefined;
  readonly ttlMs: number;
  readonly renewBeforeMs: number;
  readonly dns: readonly string[];
  readonly ips: readonly string[];
  readonly serial: string;
  readonly notAfter: Date;
}

type Report = (path: ConfigPath, message: string) => void;

interface LoadedCertificate {
  readonly entry: ListenerCertificateConfig;
  readonly hosts: readonly string[];
  readonly isDefault: boolean;
  readonly context: SecureContext;
  readonly options: SecureContextOptions;
  readonly info: CertificateInfo;
}

/**
 * Loads and checks everything a listener's `tls` names. Problems go to
 * `report` with a path relative to the listener ("tls.certificates[0].key");
 * the result is undefined when there was any.
 */
export function loadListenerTls(listener: string, config: ListenerTlsConfig, baseDir: string, report: Report): ListenerTls | undefined {
  let failed = false;
  const fail: Report = (path, message) => {
    failed = true;
    report(path, message);
  };
  const digest = createHash('sha256').update(JSON.stringify(config));
  const files: string[] = [];
  const warnings: string[] = [];
  const records: CertificateRecord[] = [];
  const warnBeforeMs = parseDuration(config.expiry_warning);
  const source = `listener:${listener}`;
  const now = Date.now();

  const read = (value: string, path: ConfigPath): PemSource | undefined => {
    try {
      const pem = readPem(value, baseDir);
      digest.update(pem.data);
      if (pem.file) files.push(pem.file);
      return pem;
    } catch (err) {
      fail(path, (err as Error).message);
      return undefined;
    }
  };

  const shared: SecureContextOptions = {
    minVersion: config.min_version,
    maxVersion: 'TLSv1.3',
    ciphers: cipherList(config.ciphers),
    honorCipherOrder: true,
    ecdhCurve: ECDH_CURVES,
    secureOptions:
      cryptoConstants.SSL_OP_NO_RENEGOTIATION | cryptoConstants.SSL_OP_NO_COMPRESSION | (config.session_tickets ? 0 : cryptoConstants.SSL_OP_NO_TICKET),
  };
  try {
    createSecureContext(shared);
  } catch (err) {
    fail(['tls', 'ciphers'], `invalid cipher list: ${describeTlsMaterialError(err)}`);
  }

  const clientAuth = config.client_auth;
  if (clientAuth.mode !== 'none') {
    if (!clientAuth.ca) {
      fail(['tls', 'client_auth', 'ca'], `client_auth mode "${clientAuth.mode}" needs ca: the CA bundle client certificates must chain to`);
    } else {
      const ca = read(clientAuth.ca, ['tls', 'client_auth', 'ca']);
      if (ca) {
        const cas = parsePemCertificatesOrNone(ca.data);
        if (cas.length === 0) fail(['tls', 'client_auth', 'ca'], `${clientAuth.ca} holds no PEM certificate`);
        shared.ca = ca.data;
        for (const cert of cas) records.push(certificateRecord(source, 'client-ca', [], certificateInfo(cert), warnBeforeMs));
      }
    }
    if (clientAuth.crl) {
      const crl = read(clientAuth.crl, ['tls', 'client_auth', 'crl']);
      if (crl) {
        const problem = crlProblem(crl.data, now);
        if (problem?.fatal) fail(['tls', 'client_auth', 'crl'], `${clientAuth.crl}: ${problem.message}`);
        else if (problem) warnings.push(`${clientAuth.crl}: ${problem.message}`);
        shared.crl = crl.data;
      }
    }
  } else if (clientAuth.ca || clientAuth.crl) {
    fail(['tls', 'client_auth', 'mode'], 'ca and crl are used only when mode is optional or required');
  }

  const loaded: LoadedCertificate[] = [];
  const renewals: RenewalPlan[] = [];
  config.certificates.forEach((entry, i) => {
    const base: ConfigPath = ['tls', 'certificates', i];
    const cert = read(entry.cert, [...base, 'cert']);
    const key = read(entry.key, [...base, 'key']);
    if (!cert || !key) return;
    const chain = parsePemCertificatesOrNone(cert.data);
    const leaf = chain[0];
    if (!leaf) {
      fail([...base, 'cert'], `${pemName(entry.cert)} holds no PEM certificate`);
      return;
    }
    const info = certificateInfo(leaf);
    if (info.isCa) warnings.push(`${pemName(entry.cert)}: the first certificate is a CA certificate; the server certificate must come first`);
    const hosts = entry.hosts ?? info.dns;
    if (hosts.length === 0 && !entry.default && config.certificates.length > 1) {
      fail([...base, 'hosts'], `${pemName(entry.cert)} names no DNS host; list hosts or mark it default: true`);
      return;
    }
    for (const host of entry.hosts ?? []) {
      if (!covers(info, host)) fail([...base, 'hosts'], `${pemName(entry.cert)} does not cover "${host}" (its names: ${[...info.dns, ...info.ips].join(', ') || 'none'})`);
    }
    if (info.notAfter.getTime() <= now) warnings.push(`${pemName(entry.cert)}: expired on ${info.notAfter.toISOString()}`);
    else if (info.notBefore.getTime() > now) warnings.push(`${pemName(entry.cert)}: not valid before ${info.notBefore.toISOString()}`);
    const options: SecureContextOptions = { ...shared, cert: cert.data, key: key.data, passphrase: entry.passphrase };
    let context: SecureContext;
    try {
      context = createSecureContext(options);
    } catch (err) {
      fail([...base, 'key'], `${pemName(entry.key)} with ${pemName(entry.cert)}: ${describeTlsMaterialError(err)}`);
      return;
    }
    if (entry.renew) {
      const plan = renewalPlan(entry, cert, key, info, base, read, fail);
      if (plan) renewals.push(plan);
    }
    loaded.push({ entry, hosts, isDefault: entry.default, context, options, info });
    records.push(certificateRecord(source, 'server', hosts, info, warnBeforeMs));
  });

  const owner = new Map<string, number>();
  loaded.forEach((c, i) => {
    for (const host of c.hosts) {
      const lower = host.toLowerCase();
      const other = owner.get(lower);
      if (other !== undefined) fail(['tls', 'certificates', i, 'hosts'], `"${host}" is already served by certificates[${other}]`);
      else owner.set(lower, i);
    }
  });
  const defaults = config.certificates.filter((c) => c.default).length;
  if (defaults > 1) fail(['tls', 'certificates'], 'only one certificate can be the default');

  if (failed || loaded.length === 0) return undefined;
  const fallback = loaded.find((c) => c.isDefault) ?? loaded[0]!;
  if (!config.require_sni) {
    // Node installs the certificate chosen by SNI *beside* the default one rather than instead of it,
    // so a certificate of another key type than the default could lose to it in the handshake.
    const kind = keyKind(fallback.info);
    for (const c of loaded) {
      if (keyKind(c.info) !== kind) {
        fail(
          ['tls', 'certificates', config.certificates.indexOf(c.entry), 'cert'],
          `${pemName(c.entry.cert)} has an ${keyKind(c.info)} key but the default certificate (${pemName(fallback.entry.cert)}) has an ${kind} key: ` +
            'give every certificate of this listener the key type of its default, or set require_sni: true',
        );
      }
    }
    if (failed) return undefined;
  }
  const serverContext: SecureContextOptions = config.require_sni ? { ...shared } : fallback.options;
  const sni = new SniTable(
    loaded.map((c) => ({ hosts: c.hosts, value: c.context })),
    config.require_sni ? undefined : fallback.context,
  );
  return {
    listener,
    serverContext,
    sni,
    clientAuth: clientAuth.mode,
    files: [...new Set(files)],
    certificates: records,
    digest: digest.digest('hex'),
    warnings,
    renewals,
  };
}

/** What `renew:` needs, checked: files to write over, a CA that loads, a renewal window shorter than the lifetime. */
function renewalPlan(
  entry: ListenerCertificateConfig,
  cert: PemSource,
  key: PemSource,
  info: CertificateInfo,
  base: ConfigPath,
  read: (value: string, path: ConfigPath) => PemSource | undefined,
  fail: Report,
): RenewalPlan | undefined {
  const renew = entry.renew!;
  const at: ConfigPath = [...base, 'renew'];
  if (!cert.file || !key.file) {
    fail(at, 'renew needs cert and key to be files: the renewed certificate and key are written over them');
    return undefined;
  }
  const ttlMs = parseDuration(renew.ttl);
  const renewBeforeMs = renew.renew_before !== undefined ? parseDuration(renew.renew_before) : Math.floor(ttlMs / 3);
  if (renewBeforeMs >= ttlMs) {
    fail([...at, 'renew_before'], 'renew_before must be shorter than ttl');
    return undefined;
  }
  if (info.dns.length === 0 && info.ips.length === 0) {
    fail(at, `${pemName(entry.cert)} names no DNS name or IP address for the renewed certificate to carry`);
    return undefined;
  }
  const caCert = read(renew.ca_cert, [...at, 'ca_cert']);
  const caKey = read(renew.ca_key, [...at, 'ca_key']);
  if (!caCert || !caKey) return undefined;
  if (parsePemCertificatesOrNone(caCert.data).length === 0) {
    fail([...at, 'ca_cert'], `${pemName(renew.ca_cert)} holds no PEM certificate`);
    return undefined;
  }
  return {
    certFile: cert.file,
    keyFile: key.file,
    caCert: caCert.data,
    caKey: caKey.data,
    caPassphrase: renew.ca_passphrase,
    ttlMs,
    renewBeforeMs,
    dns: info.dns,
    ips: info.ips,
    serial: info.serial,
    notAfter: info.notAfter,
  };
}

function keyKind(info: CertificateInfo): string {
  return info.keyType.split(' ')[0]!;
}

function cipherList(configured: string | undefined): string {
  if (configured === undefined) return [...TLS13_SUITES, ...DEFAULT_TLS12_CIPHERS].join(':');
  // Node takes TLS 1.3 suites in the same list; keep them unless the operator named some.
  return /(^|:)TLS_/.test(configured) ? configured : [...TLS13_SUITES, configured].join(':');
}

/** Does the certificate carry `host` (a name or a *.wildcard pattern)? */
function covers(info: CertificateInfo, host: string): boolean {
  const name = host.toLowerCase();
  if (info.dns.includes(name) || info.ips.includes(name)) return true;
  if (name.startsWith('*.')) return false;
  const dot = name.indexOf('.');
  return dot > 0 && info.dns.includes(`*.${name.slice(dot + 1)}`);
}

/** A CRL that cannot be read is fatal; one past its nextUpdate makes OpenSSL refuse every client: loudly warned. */
function crlProblem(pem: Buffer, now: number): { fatal: boolean; message: string } | undefined {
  const blocks = pemBlocks(pem.toString('latin1'), 'X509 CRL');
  if (blocks.length === 0) return { fatal: true, message: 'holds no PEM CRL ("-----BEGIN X509 CRL-----")' };
  const x509 = x509Sync();
  for (const block of blocks) {
    let crl: InstanceType<typeof x509.X509Crl>;
    try {
      crl = new x509.X509Crl(block);
    } catch (err) {
      return { fatal: true, message: `not a readable CRL (${(err as Error).message})` };
    }
    const next = crl.nextUpdate?.getTime();
    if (next !== undefined && next <= now) return { fatal: false, message: `the CRL lapsed on ${new Date(next).toISOString()}: every client certificate will be refused until it is renewed` };
  }
  return undefined;
}
