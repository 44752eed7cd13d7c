/**
 * A CA directory: ca.crt (the root, shareable), ca.key (mode 0600, never
 * printed or copied anywhere else), ca.json (CRL settings and revoked
 * serials) and crl.pem. Files are replaced atomically (write, then rename),
 * so a gateway watching them never reads half a file.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateAuthority, type AuthorityOptions, type RevokedEntry } from './authority.js';

export const CA_FILES = { cert: 'ca.crt', key: 'ca.key', state: 'ca.json', crl: 'crl.pem' } as const;

/** How long a CRL written by the CA is valid; relying parties refuse every client once it lapses. */
export const DEFAULT_CRL_TTL_MS = 7 * 86_400_000;

export interface CaState {
  /** Put into issued certificates as their CRL distribution point. */
  crl_url?: string;
  crl_ttl_ms: number;
  crl_number: number;
  revoked: RevokedEntry[];
}

export interface CaDir {
  readonly dir: string;
  readonly authority: CertificateAuthority;
  readonly state: CaState;
  readonly paths: { cert: string; key: string; state: string; crl: string };
}

function pathsOf(dir: string): CaDir['paths'] {
  return { cert: join(dir, CA_FILES.cert), key: join(dir, CA_FILES.key), state: join(dir, CA_FILES.state), crl: join(dir, CA_FILES.crl) };
}

/** Creates a new CA in `dir`; refuses to touch a directory that already holds one. */
export async function initCaDir(
  dir: string,
  options: AuthorityOptions & { crlUrl?: string; crlTtlMs?: number; passphrase?: string } = {},
): Promise<CaDir> {
  const paths = pathsOf(dir);
  for (const file of [paths.cert, paths.key]) {
    if (existsSync(file)) throw new Error(`${file} already exists; a CA is never overwritten (move it away first)`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { authority, keyPem } = await CertificateAuthority.create(options);
  const storedKey =
    options.passphrase === undefined
      ? keyPem
      : (createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: options.passphrase }) as string);
  // The key first, created exclusively with 0600 from the start: it is never readable by others, not even briefly.
  writeFileSync(paths.key, storedKey, { mode: 0o600, flag: 'wx' });
  chmodSync(paths.key, 0o600);
  writeFileAtomic(paths.cert, authority.certPem, 0o644);
  const state: CaState = { crl_ttl_ms: options.crlTtlMs ?? DEFAULT_CRL_TTL_MS, crl_number: 0, revoked: [] };
  if (options.crlUrl) state.crl_url = options.crlUrl;
  const ca: CaDir = { dir, authority, state, paths };
  await writeCrl(ca);
  return ca;
}

export async function openCaDir(dir: string, passphrase?: string): Promise<CaDir> {
  const paths = pathsOf(dir);
  if (!existsSync(paths.cert) || !existsSync(paths.key)) throw new Error(`${dir} holds no CA (run: portcullis ca init --dir ${dir})`);
  const authority = await CertificateAuthority.load(readFileSync(paths.cert), readFileSync(paths.key), passphrase);
  const state: CaState = existsSync(paths.state)
    ? (JSON.parse(readFileSync(paths.state, 'utf8')) as CaState)
    : { crl_ttl_ms: DEFAULT_CRL_TTL_MS, crl_number: 0, revoked: [] };
  return { dir, authority, state, paths };
}

/** Adds a serial to the revoked list (once) and rewrites the CRL. */
export async function revoke(ca: CaDir, serial: string, reason?: RevokedEntry['reason']): Promise<boolean> {
  const normalized = serial.replace(/:/g, '').toUpperCase();
  if (!/^[0-9A-F]+$/.test(normalized)) throw new Error(`"${serial}" is not a hex serial number`);
  if (ca.state.revoked.some((r) => r.serial === normalized)) return false;
  ca.state.revoked.push({ serial: normalized, at: new Date().toISOString(), ...(reason ? { reason } : {}) });
  await writeCrl(ca);
  return true;
}

/** Writes a fresh CRL (and the state with its number). */
export async function writeCrl(ca: CaDir): Promise<string> {
  ca.state.crl_number += 1;
  const pem = await ca.authority.crl(ca.state.revoked, ca.state.crl_ttl_ms, ca.state.crl_number);
  writeFileAtomic(ca.paths.state, JSON.stringify(ca.state, null, 2) + '\n', 0o644);
  writeFileAtomic(ca.paths.crl, pem, 0o644);
  return pem;
}

/** Replaces `path` in one step: readers see the old file or the new one, never a mix. */
export function writeFileAtomic(path: string, content: string, mode: number): void {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, content, { mode, flag: 'wx' });
    chmodSync(temp, mode);
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}
