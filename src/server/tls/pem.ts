/** PEM material named in a config: a file path (relative to the config's folder) or, through ${file:...}, the PEM itself. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface PemSource {
  readonly data: Buffer;
  /** The absolute path it was read from; undefined for PEM written into the config. */
  readonly file: string | undefined;
}

export function readPem(value: string, baseDir: string): PemSource {
  if (value.trimStart().startsWith('-----BEGIN ')) return { data: Buffer.from(value), file: undefined };
  const file = resolve(baseDir, value);
  try {
    return { data: readFileSync(file), file };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new Error(`cannot read ${value}: ${why}`);
  }
}

/** OpenSSL's messages about keys and certificates, in words an operator can act on. */
export function describeTlsMaterialError(err: unknown): string {
  const message = (err as Error).message ?? String(err);
  if (/key values mismatch/i.test(message)) return 'the private key does not match the certificate';
  if (/bad decrypt/i.test(message)) return 'wrong passphrase for the encrypted key';
  if (/bad password read|interrupted or cancell?ed|MISSING_PASSPHRASE/i.test(message)) return 'the key is encrypted: set passphrase';
  if (/no start line|bad end line|bad base64|unsupported|DECODER/i.test(message)) return 'not valid PEM';
  if (/no cipher match/i.test(message)) return 'the cipher list matches no cipher';
  return message.replace(/^error:[0-9A-F]+:/i, '');
}
