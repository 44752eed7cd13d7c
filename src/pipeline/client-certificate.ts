/**
 * The certificate a client presented on its TLS connection, as the pipeline
 * sees it: read once per connection by the listener, never a socket.
 */
export interface ClientCertificate {
  /** Did it chain to the listener's client CA (and pass the CRL)? */
  readonly verified: boolean;
  /** Why it did not verify (OpenSSL's code, such as CERT_HAS_EXPIRED); undefined when it did. */
  readonly error: string | undefined;
  /** RFC 4514: "CN=alice,O=Example". */
  readonly subject: string;
  /** Subject attributes as sorted "TYPE=value" strings, for order-free matching. */
  readonly subjectAttributes: readonly string[];
  readonly uris: readonly string[];
  readonly dns: readonly string[];
  readonly emails: readonly string[];
  /** SHA-256 of the certificate, lower-case hex. */
  readonly fingerprint256: string;
  /**
   * SHA-256 (lower-case hex) of each CA certificate above it in the chain the
   * client sent and the listener verified, issuer first: which CA vouches for
   * its names. A CA's subject name proves nothing (any CA of the bundle can
   * call itself anything); its certificate does.
   */
  readonly issuerFingerprints: readonly string[];
  readonly serial: string;
  readonly notAfter: Date;
  /** The value sent upstream in X-Forwarded-Client-Cert (Envoy's format: Hash=...;Subject="...";URI=...). */
  readonly forwarded: string;
}

/** The header that carries a verified client identity upstream; clients can never set it themselves. */
export const CLIENT_CERT_HEADER = 'x-forwarded-client-cert';
