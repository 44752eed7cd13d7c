/**
 * The built-in certificate authority: a self-signed root whose key stays in
 * its file (mode 0600), issuing short-lived leaf certificates for service
 * identities (SPIFFE URI SANs, DNS names, IP addresses) and the CRLs that
 * revoke them. Certificates are built by @peculiar/x509, never by hand.
 */
import { createPrivateKey, randomBytes, X509Certificate as NodeX509, type webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import { generateKeys, importSigningKey, privateKeyPem, toPem, type KeyType, type SigningKeys } from './keys.js';
import { spiffeIdProblem } from './spiffe.js';
import { x509 } from './x509.js';

/** Certificates are back-dated this much, so a peer whose clock is a little behind accepts them. */
const BACKDATE_MS = 60_000;

export interface AuthorityOptions {
  /** The CA's common name. */
  name?: string;
  ttlMs?: number;
  keyType?: KeyType;
  now?: Date;
}

export interface IssueOptions {
  spiffe?: string;
  dns?: readonly string[];
  ips?: readonly string[];
  emails?: readonly string[];
  /** The subject CN; the first DNS name, or the SPIFFE ID's last segment, when not given. */
  commonName?: string;
  /** The subject O, when wanted. */
  organization?: string;
  ttlMs: number;
  /** Which TLS side may use it: both by default (a service is often client and server). */
  usage?: 'server' | 'client' | 'both';
  keyType?: KeyType;
  /** Where relying parties fetch this CA's CRL (CRL Distribution Points extension). */
  crlUrl?: string;
  /** Start of validity; defaults to now minus a minute. Tests use it for expired certificates. */
  notBefore?: Date;
  /**
   * The subject's own public key (from a certificate request whose signature
   * was checked): no key pair is made, and `keyPem` comes back empty.
   */
  publicKey?: webcrypto.CryptoKey;
}

export interface Issued {
  /** The leaf certificate, PEM. */
  readonly certPem: string;
  /** Its private key, PKCS#8 PEM. */
  readonly keyPem: string;
  /** Hex serial number, upper case, as OpenSSL and Node print it. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface RevokedEntry {
  /** Hex serial number. */
  readonly serial: string;
  /** ISO date of revocation. */
  readonly at: string;
  readonly reason?: keyof typeof x509.X509CrlReason;
}

export class CertificateAuthority {
  private constructor(
    readonly certificate: x509.X509Certificate,
    private readonly keys: SigningKeys,
  ) {}

  /** The CA certificate, PEM: what relying parties put in their trust bundle. */
  get certPem(): string {
    return this.certificate.toString('pem') + '\n';
  }

  /** A new self-signed root. The caller writes `keyPem` to a file only it can read. */
  static async create(options: AuthorityOptions = {}): Promise<{ authority: CertificateAuthority; keyPem: string }> {
    const now = options.now ?? new Date();
    const keys = await generateKeys(options.keyType ?? 'ec');
    const name = options.name ?? 'Portcullis CA';
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: [{ CN: [name] }],
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + (options.ttlMs ?? 10 * 365 * 86_400_000)),
      keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
      signingAlgorithm: keys.signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return { authority: new CertificateAuthority(certificate, keys), keyPem: await privateKeyPem(keys.privateKey) };
  }

  /** A CA from its certificate and key (PEM). Checks that they belong together and that it is a CA. */
  static async load(certPem: string | Buffer, keyPem: string | Buffer, passphrase?: string): Promise<CertificateAuthority> {
    const native = new NodeX509(certPem);
    if (!native.ca) throw new Error('the certificate is not a CA certificate (basicConstraints CA:FALSE)');
    const keys = await importSigningKey(keyPem, passphrase);
    if (!native.checkPrivateKey(createPrivateKey(passphrase === undefined ? { key: keyPem } : { key: keyPem, passphrase }))) {
      throw new Error('the CA key does not belong to the CA certificate');
    }
    return new CertificateAuthority(new x509.X509Certificate(native.raw), keys);
  }

  /** Issues a leaf certificate with a fresh key pair. */
  async issue(options: IssueOptions): Promise<Issued> {
    const names = subjectAltNames(options);
    if (names.length === 0) throw new Error('a certificate needs at least one name: --spiffe, --dns, --ip or --email');
    if (!(options.ttlMs > 0)) throw new Error('the lifetime must be positive');
    const keys = options.publicKey ? undefined : await generateKeys(options.keyType ?? 'ec');
    const publicKey = options.publicKey ?? keys!.publicKey;
    const start = options.notBefore?.getTime() ?? Date.now();
    const notBefore = options.notBefore ?? new Date(start - BACKDATE_MS);
    let notAfter = new Date(start + options.ttlMs);
    // A leaf never outlives its CA: relying parties would refuse the chain after the CA expires anyway.
    if (notAfter > this.certificate.notAfter) notAfter = this.certificate.notAfter;
    const usage = options.usage ?? 'both';
    const ekus: string[] = [];
    if (usage !== 'client') ekus.push(x509.ExtendedKeyUsage.serverAuth);
    if (usage !== 'server') ekus.push(x509.ExtendedKeyUsage.clientAuth);
    let keyUsage = x509.KeyUsageFlags.digitalSignature;
    if (options.keyType === 'rsa') keyUsage |= x509.KeyUsageFlags.keyEncipherment;
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(keyUsage, true),
      new x509.ExtendedKeyUsageExtension(ekus, false),
      new x509.SubjectAlternativeNameExtension(names, false),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(this.certificate),
    ];
    if (options.crlUrl) extensions.push(new x509.CRLDistributionPointsExtension([options.crlUrl]));
    const serial = randomSerial();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: options.organization ? [{ O: [options.organization] }, { CN: [commonNameFor(options)] }] : [{ CN: [commonNameFor(options)] }],
      issuer: this.certificate.subjectName,
      notBefore,
      notAfter,
      publicKey,
      signingKey: this.keys.privateKey,
      signingAlgorithm: this.keys.signingAlgorithm,
      extensions,
    });
    return {
      certPem: cert.toString('pem') + '\n',
      keyPem: keys ? await privateKeyPem(keys.privateKey) : '',
      serial: serial.toUpperCase(),
      notBefore,
      notAfter,
    };
  }

  /** A CRL listing `revoked`, valid until now + `ttlMs`. */
  async crl(revoked: readonly RevokedEntry[], ttlMs: number, crlNumber: number, now = new Date()): Promise<string> {
    const crl = await x509.X509CrlGenerator.create({
      issuer: this.certificate.subjectName,
      thisUpdate: new Date(now.getTime() - BACKDATE_MS),
      nextUpdate: new Date(now.getTime() + ttlMs),
      signingKey: this.keys.privateKey,
      signingAlgorithm: this.keys.signingAlgorithm,
      extensions: [
        await x509.AuthorityKeyIdentifierExtension.create(this.certificate),
        new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(crlNumber))),
      ],
      entries: revoked.map((entry) => ({
        serialNumber: entry.serial,
        revocationDate: new Date(entry.at),
        reason: entry.reason ? x509.X509CrlReason[entry.reason] : undefined,
      })),
    });
    // OpenSSL (and so Node) reads only the "X509 CRL" PEM label.
    return toPem(Buffer.from(crl.rawData), 'X509 CRL');
  }
}

/** 128 random bits, positive and without a leading zero byte (RFC 5280 §4.1.2.2). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

function subjectAltNames(options: IssueOptions): x509.JsonGeneralNames {
  const names: x509.JsonGeneralNames = [];
  if (options.spiffe !== undefined) {
    const problem = spiffeIdProblem(options.spiffe);
    if (problem) throw new Error(`invalid SPIFFE ID "${options.spiffe}": ${problem}`);
    names.push({ type: 'url', value: options.spiffe });
  }
  for (const dns of options.dns ?? []) {
    if (!/^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(dns)) throw new Error(`invalid DNS name "${dns}"`);
    names.push({ type: 'dns', value: dns.toLowerCase() });
  }
  for (const ip of options.ips ?? []) {
    if (isIP(ip) === 0) throw new Error(`invalid IP address "${ip}"`);
    names.push({ type: 'ip', value: ip });
  }
  for (const email of options.emails ?? []) {
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new Error(`invalid email address "${email}"`);
    names.push({ type: 'email', value: email });
  }
  return names;
}

function commonNameFor(options: IssueOptions): string {
  const cn = options.commonName ?? options.dns?.[0] ?? options.spiffe?.split('/').at(-1) ?? options.ips?.[0] ?? options.emails?.[0] ?? 'portcullis';
  // X.520 caps a common name at 64 characters; the SAN carries the full identity anyway.
  return cn.slice(0, 64);
}
