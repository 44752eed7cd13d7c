/**
 * Enrolment tokens: one-time, expiring, and kept at the control plane only as
 * their SHA-256 (a token is 256 random bits, so a plain digest is enough: no
 * guess can be tested against it faster than against the listener).
 *
 * One file per token under <state_dir>/tokens/, so that `portcullis fleet
 * token` (another process) and the running control plane never rewrite each
 * other's file. Using a token renames its file into used/: a rename succeeds
 * once, so two enrolments racing with one token cannot both win.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashText } from './document.js';

const TOKEN = /^pcf_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

interface TokenFile {
  readonly id: string;
  readonly sha256: string;
  readonly created_at: string;
  readonly expires_at: string;
  /** The node name the token is for, when given: enrolment under another name is refused. */
  readonly name?: string;
  readonly used_at?: string;
  readonly used_by?: string;
}

export type TokenCheck = { ok: true; id: string } | { ok: false; reason: 'malformed' | 'unknown' | 'used' | 'expired' | 'wrong_name'; id?: string };

function dirs(stateDir: string): { live: string; used: string } {
  const live = join(stateDir, 'tokens');
  return { live, used: join(live, 'used') };
}

/** A new token: written hashed, returned once in clear. */
export function createToken(stateDir: string, ttlMs: number, name?: string, now = new Date()): { token: string; id: string; expiresAt: Date } {
  const { live, used } = dirs(stateDir);
  mkdirSync(used, { recursive: true, mode: 0o700 });
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const token = `pcf_${id}_${secret}`;
  const expiresAt = new Date(now.getTime() + ttlMs);
  const record: TokenFile = { id, sha256: hashText(token), created_at: now.toISOString(), expires_at: expiresAt.toISOString(), ...(name ? { name } : {}) };
  writeFileSync(join(live, `${id}.json`), JSON.stringify(record) + '\n', { mode: 0o600, flag: 'wx' });
  return { token, id, expiresAt };
}

/** Checks a token and, when it is good, uses it up for `node`. */
export function consumeToken(stateDir: string, token: string, node: string, now = new Date()): TokenCheck {
  const m = TOKEN.exec(token);
  if (!m) return { ok: false, reason: 'malformed' };
  const id = m[1]!;
  const { live, used } = dirs(stateDir);
  let record: TokenFile;
  try {
    record = JSON.parse(readFileSync(join(live, `${id}.json`), 'utf8')) as TokenFile;
  } catch {
    try {
      readFileSync(join(used, `${id}.json`));
      return { ok: false, reason: 'used', id };
    } catch {
      return { ok: false, reason: 'unknown', id };
    }
  }
  const want = Buffer.from(record.sha256, 'hex');
  const got = Buffer.from(hashText(token), 'hex');
  if (want.length !== got.length || !timingSafeEqual(want, got)) return { ok: false, reason: 'unknown', id };
  if (Date.parse(record.expires_at) <= now.getTime()) {
    rmSync(join(live, `${id}.json`), { force: true });
    return { ok: false, reason: 'expired', id };
  }
  if (record.name !== undefined && record.name !== node) return { ok: false, reason: 'wrong_name', id };
  try {
    renameSync(join(live, `${id}.json`), join(used, `${id}.json`));
  } catch {
    return { ok: false, reason: 'used', id };
  }
  writeFileSync(join(used, `${id}.json`), JSON.stringify({ ...record, used_at: now.toISOString(), used_by: node }) + '\n', { mode: 0o600 });
  return { ok: true, id };
}
