/**
 * One line of the audit file, and how it is sealed: `hash` is the SHA-256 of
 * the record's canonical JSON without `hash` and `sig`; `sig` signs that hash;
 * `prev` is the hash of the line before, so a record cannot be changed,
 * removed, added or moved without breaking the chain at a line verify names.
 */
import { createHash } from 'node:crypto';
import type { SigningKey, VerifyingKey } from './keys.js';
import type { Change } from './diff.js';

export const FORMAT_VERSION = 1;
/** The `prev` of the very first record of a file. */
export const GENESIS = '0'.repeat(64);

export type AuditAction = 'config.load' | 'config.reload' | 'config.refused';

/** Who asked for the change. The sender of a signal cannot be known: `signal` says only which one arrived. */
export interface AuditActor {
  readonly kind: 'start' | 'file' | 'signal' | 'process' | 'admin';
  /** The config file (start, file). */
  readonly file?: string;
  /** The file's owner (file), from its metadata: who owns it, not necessarily who wrote it. */
  readonly file_uid?: number;
  readonly signal?: string;
  /** The admin API's token name. */
  readonly name?: string;
  /** The admin API's client address (the peer of the admin listener). */
  readonly address?: string;
}

/** Where the change came from: this host and process, or (later) the admin API's remote address. */
export interface AuditOrigin {
  readonly host: string;
  readonly pid: number;
  /** The OS user the gateway runs as. */
  readonly user?: string;
  readonly uid?: number;
  readonly address?: string;
}

interface Common {
  readonly v: number;
  readonly seq: number;
  readonly time: string;
  readonly kid: string;
  readonly prev: string;
  /** Records that could not be written since the last one that was (their seqs are skipped): a gap verify reports. */
  readonly missed?: number;
}

export interface ChangeFields {
  readonly kind: 'change';
  readonly action: AuditAction;
  readonly actor: AuditActor;
  readonly origin: AuditOrigin;
  readonly version: { readonly before: number | null; readonly after: number | null };
  /** Config digests (docs/audit.md: secrets count as "[secret]"); null where there is no config. */
  readonly digest: { readonly before: string | null; readonly after: string | null };
  /** JSON paths with masked values; absent when there is nothing to compare against (a first load). */
  readonly changes?: readonly Change[];
  /** Changes left out past the limit. */
  readonly changes_omitted?: number;
  /** Why a reload was refused (config issues as file:line: path: message; they never repeat a secret). */
  readonly issues?: readonly string[];
}

export interface CheckpointFields {
  readonly kind: 'checkpoint';
  readonly reason: 'every' | 'shutdown';
  /** Records in the file up to and including this one. */
  readonly count: number;
  /** The hash of the record before this one: the head it vouches for. */
  readonly head: string;
  /** The digest of the config in force, so a restart can say whether it changed. */
  readonly digest: string | null;
}

/** A new start after the gateway found the file's tail broken: it never continues a broken chain silently. */
export interface SegmentFields {
  readonly kind: 'segment';
  readonly reason: string;
  /** The line it found broken and the SHA-256 of its bytes, so the break stays pinned. */
  readonly broken_line: number;
  readonly broken_sha256: string;
}

/** An automatic defense action taken, lifted, expired, or only recorded (a detection in monitor mode). */
export interface DefenseFields {
  readonly kind: 'defense';
  readonly action: 'defense.add' | 'defense.lift' | 'defense.expire' | 'defense.monitor';
  readonly id: string;
  /** block, suspend, tighten, require. */
  readonly type: string;
  readonly scope: string;
  readonly target: string;
  readonly by: string;
  readonly expires_at: string | null;
  readonly reason?: string;
}

export type RecordFields = ChangeFields | CheckpointFields | SegmentFields | DefenseFields;
export type UnsealedRecord = Common & RecordFields;
export type AuditRecord = UnsealedRecord & { readonly hash: string; readonly sig: string };

/** JSON with keys in sorted order at every level: the same record always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function sha256Hex(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

export function hashOf(record: UnsealedRecord | AuditRecord): string {
  const { hash: _hash, sig: _sig, ...body } = record as AuditRecord;
  return sha256Hex(canonicalJson(body));
}

export function seal(record: UnsealedRecord, key: SigningKey): AuditRecord {
  const hash = hashOf(record);
  return { ...record, hash, sig: key.sign(Buffer.from(hash, 'hex')) };
}

export function signatureValid(record: AuditRecord, key: VerifyingKey): boolean {
  return /^[0-9a-f]{64}$/.test(record.hash) && key.verify(Buffer.from(record.hash, 'hex'), record.sig);
}

/**
 * The signed head, written beside the file (FILE.head) after every record:
 * the file must hold this record, so a tail cut after it is found even when
 * no checkpoint followed. Kept as a copy elsewhere (the SIEM has one too), it
 * also catches a head file rolled back to an older one.
 */
export interface SignedHead {
  readonly v: number;
  readonly seq: number;
  readonly count: number;
  readonly hash: string;
  readonly time: string;
  readonly kid: string;
  readonly sig: string;
}

export function signHead(head: Omit<SignedHead, 'sig' | 'kid' | 'v'>, key: SigningKey): SignedHead {
  const body = { v: FORMAT_VERSION, ...head, kid: key.kid };
  return { ...body, sig: key.sign(Buffer.from(sha256Hex(canonicalJson(body)), 'hex')) };
}

export function headSignatureValid(head: SignedHead, key: VerifyingKey): boolean {
  const { sig, ...body } = head;
  return typeof sig === 'string' && key.verify(Buffer.from(sha256Hex(canonicalJson(body)), 'hex'), sig);
}
