/** PEM material named in a config: a file path (relative to the config's folder) or, through ${file:...}, the PEM itself. */
import { resolve } from 'node:path';
import { readReferencedFile } from '../config/load.js';

export interface PemSource {
  readonly data: Buffer;
  /** The absolute path it was read from; undefined for PEM written into the config. */
  readonly file: string | undefined;
}

export function readPem(value: string, baseDir: string): PemSource {
  if (isInlinePem(value)) return { data: Buffer.from(value), file: undefined };
  const file = resolve(baseDir, value);
  try {
    // Bounded like every file the config names: a FIFO or /dev/zero would block or never end.
    return { data: Buffer.from(readReferencedFile(file)), file };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new Error(`cannot read ${value}: ${why}`);
  }
}

/**
 * How a message names PEM material: its path, or "inline PEM" when the
 * config holds the PEM itself (through ${file:}), so that no message ever
 * repeats a private key.
 */
export function pemName(value: string): string {
  return isInlinePem(value) ? 'inline PEM' : value;
}

/** PEM written into the config rather than a path: a path has no line breaks (PEM exported with "Bag Attributes" starts with text, not -----BEGIN). */
function isInlinePem(value: string): boolean {
  return value.trimStart().startsWith('-----BEGIN ') || value.includes('\n');
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
