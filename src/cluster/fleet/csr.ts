/**
 * Certificate requests (PKCS#10): a data plane makes its key pair itself and
 * sends only a request signed with it, so its private key never leaves the
 * node; the control plane checks the signature (proof that the requester
 * holds the key) and certifies the public key. The name inside the request
 * is ignored: the control plane decides the node's identity (token, or the
 * certificate it renews).
 *
 * @peculiar/x509 is loaded on first use: a data plane needs it only to
 * enrol and to renew.
 */
import type { webcrypto } from 'node:crypto';

/** The largest request accepted (an EC P-256 request is under 1 KiB). */
const MAX_CSR_CHARS = 8 * 1024;

export async function makeRequest(name: string): Promise<{ csrPem: string; keyPem: string }> {
  const { x509 } = await import('../../ca/x509.js');
  const { generateKeys, privateKeyPem } = await import('../../ca/keys.js');
  const keys = await generateKeys('ec');
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [name] }],
    keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
    signingAlgorithm: keys.signingAlgorithm,
  });
  return { csrPem: csr.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

/** The public key of a request whose signature holds; throws otherwise. Only EC P-256 keys, as the fleet's certificates use. */
export async function requestedKey(csrPem: unknown): Promise<webcrypto.CryptoKey> {
  if (typeof csrPem !== 'string' || csrPem.length > MAX_CSR_CHARS) throw new Error('expected a PEM certificate request ("csr")');
  const { x509 } = await import('../../ca/x509.js');
  let csr: InstanceType<typeof x509.Pkcs10CertificateRequest>;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch {
    throw new Error('expected a PEM certificate request ("csr")');
  }
  const algorithm = csr.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') throw new Error('the request\'s key must be EC P-256');
  if (!(await csr.verify())) throw new Error('the request is not signed by its own key');
  return (await csr.publicKey.export()) as webcrypto.CryptoKey;
}
