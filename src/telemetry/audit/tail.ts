/**
 * What the gateway finds in an audit file it is about to continue: the last
 * record, checked against its hash, its signature and the signed head beside
 * the file. Anything wrong is a break: the trail does not continue silently
 * from a tail it cannot vouch for.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import type { SigningKey } from './keys.js';
import { GENESIS, hashOf, headSignatureValid, sha256Hex, signatureValid, type AuditRecord, type SignedHead } from './record.js';

/** Records are bounded well below this (diff.ts limits); the tail is read from the last MiB. */
const TAIL_BYTES = 1024 * 1024;

export type TailState =
  | { readonly ok: true; readonly seq: number; readonly prev: string; readonly lines: number; readonly digest: string | null; readonly otherKid?: string }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly seq: number;
      readonly lines: number;
      readonly brokenLine: number;
      readonly brokenSha256: string;
      /** The file ends without a newline: the next record starts one. */
      readonly partial: boolean;
    };

export function headFileOf(file: string): string {
  return `${file}.head`;
}

function readHead(file: string): SignedHead | undefined | 'unreadable' {
  if (!existsSync(headFileOf(file))) return undefined;
  try {
    return JSON.parse(readFileSync(headFileOf(file), 'utf8')) as SignedHead;
  } catch {
    return 'unreadable';
  }
}

/** Counts lines and returns the bytes after the last full line (a partial one) and the last full line. */
function scan(file: string): { lines: number; last: string | undefined; partial: string } {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const chunk = Buffer.alloc(64 * 1024);
    let lines = 0;
    for (let at = 0; at < size; ) {
      const n = readSync(fd, chunk, 0, chunk.length, at);
      if (n <= 0) break;
      for (let i = 0; i < n; i++) if (chunk[i] === 0x0a) lines++;
      at += n;
    }
    const start = Math.max(0, size - TAIL_BYTES);
    const tail = Buffer.alloc(size - start);
    readSync(fd, tail, 0, tail.length, start);
    const text = tail.toString('utf8');
    const end = text.lastIndexOf('\n');
    const partial = text.slice(end + 1);
    const full = end < 0 ? '' : text.slice(0, end);
    const last = full === '' ? undefined : full.slice(full.lastIndexOf('\n') + 1);
    return { lines, last, partial };
  } finally {
    closeSync(fd);
  }
}

function seqOf(line: string | undefined): number {
  if (line === undefined) return 0;
  try {
    const seq = (JSON.parse(line) as { seq?: unknown }).seq;
    return typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
  } catch {
    return 0;
  }
}

export function readTail(file: string, key: SigningKey): TailState {
  const verifier = key.verifier;
  const head = readHead(file);
  const exists = existsSync(file);
  const { lines, last, partial } = exists ? scan(file) : { lines: 0, last: undefined, partial: '' };
  // The segment goes on numbering after the highest seq the file or its head claims, so seqs stay unique.
  const claimed = Math.max(head && head !== 'unreadable' && typeof head.seq === 'number' ? head.seq : 0, seqOf(last));
  const broken = (reason: string, line: number, text: string): TailState => ({
    ok: false,
    reason,
    seq: claimed,
    lines,
    brokenLine: line,
    brokenSha256: sha256Hex(text),
    partial: partial !== '',
  });
  if (partial !== '') return broken('the last line is incomplete (a write cut short, or the file cut)', lines + 1, partial);
  if (last === undefined) {
    if (head && head !== 'unreadable') return broken(`the file is empty or gone, but its signed head names seq ${head.seq}: the trail was deleted or emptied`, 0, '');
    return { ok: true, seq: 0, prev: GENESIS, lines, digest: null };
  }
  let record: AuditRecord;
  try {
    record = JSON.parse(last) as AuditRecord;
  } catch {
    return broken('the last line is not a record', lines, last);
  }
  const seq = typeof record.seq === 'number' ? record.seq : 0;
  let hash: string;
  try {
    hash = hashOf(record);
  } catch {
    // Nested deeper than the stack allows (no record is): a broken tail, not a gateway that cannot start.
    return broken('the last line is not a record', lines, last);
  }
  if (hash !== record.hash) return broken(`the last record (seq ${seq}) does not match its hash: it was modified`, lines, last);
  const sameKey = record.kid === key.kid;
  if (sameKey && !signatureValid(record, verifier)) return broken(`the last record (seq ${seq}) has a signature that does not verify`, lines, last);
  if (head === undefined) return broken(`${headFileOf(file)} is missing: a cut tail could not be ruled out`, lines, last);
  if (head === 'unreadable') return broken(`${headFileOf(file)} cannot be read`, lines, last);
  if (head.kid === key.kid && !headSignatureValid(head, verifier)) return broken(`${headFileOf(file)} has a signature that does not verify`, lines, last);
  if (head.seq > seq) return broken(`the file ends at seq ${seq} but its signed head names seq ${head.seq}: the tail was cut`, lines, last);
  if (head.seq === seq && head.hash !== record.hash) return broken(`the signed head names another record as seq ${seq}: the tail was rewritten`, lines, last);
  // The head is written just after each record: a crash between the two leaves it one behind, no more.
  if (head.seq < seq - 1) return broken(`the signed head names seq ${head.seq}, ${seq - head.seq} records before the end: records were added after it`, lines, last);
  const digest = record.kind === 'change' ? record.digest.after : record.kind === 'checkpoint' ? record.digest : null;
  return { ok: true, seq, prev: record.hash, lines, digest, otherKid: sameKey ? undefined : record.kid };
}
