/**
 * The config versions of this node, in SQLite: every config that ran (from
 * the file at start or reload, or from the admin API), with who made it and
 * when, so history, diff and rollback survive a restart. Without a database
 * file the same tables live in memory (the history then ends with the
 * process). better-sqlite3 is synchronous: each statement is a few
 * microseconds on a small table, made only on config changes, never on the
 * request path.
 *
 * Stored texts are config documents as they ran: a secret written literally
 * in the file is in them too, so the file is created 0600 (docs/admin-api.md).
 */
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Loaded when the admin API is on only: a gateway without it never needs the native module. */
function openDatabase(file: string): Database.Database {
  const Sqlite = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
  return new Sqlite(file);
}

export type VersionKind = 'file' | 'api' | 'rollback' | 'apply';

export interface StoredVersion {
  readonly id: number;
  readonly time: string;
  readonly kind: VersionKind;
  /** Who made it: the admin token's name, or "file <path>", "signal SIGHUP", "start <path>". */
  readonly actor: string;
  /** The config document. */
  readonly text: string;
  /** SHA-256 of the file's text this version stands on (file mode: API versions are refused once the file differs). */
  readonly fileHash: string;
}

export type VersionSummary = Omit<StoredVersion, 'text'>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time TEXT NOT NULL,
  kind TEXT NOT NULL,
  actor TEXT NOT NULL,
  text TEXT NOT NULL,
  file_hash TEXT NOT NULL
);`;

interface Row {
  id: number;
  time: string;
  kind: VersionKind;
  actor: string;
  text: string;
  file_hash: string;
}

const toVersion = (r: Row): StoredVersion => ({ id: r.id, time: r.time, kind: r.kind, actor: r.actor, text: r.text, fileHash: r.file_hash });

export class VersionStore {
  private readonly db: Database.Database;
  /** A key of this node's, kept with the versions: ETags and fingerprints are HMACs under it (stable across restarts, useless elsewhere). */
  readonly key: Buffer;

  /** Opens (creating when missing) the database at `file`, or one in memory. */
  constructor(
    file: string | undefined,
    private readonly keep: number,
  ) {
    const created = file !== undefined && !existsSync(file);
    this.db = openDatabase(file ?? ':memory:');
    if (created) chmodSync(file, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
    const row = this.db.prepare<[], { v: Buffer }>("SELECT v FROM meta WHERE k = 'key'").get();
    if (row) this.key = row.v;
    else {
      this.key = randomBytes(32);
      this.db.prepare("INSERT INTO meta (k, v) VALUES ('key', ?)").run(this.key);
    }
  }

  latest(): StoredVersion | undefined {
    const row = this.db.prepare<[], Row>('SELECT * FROM versions ORDER BY id DESC LIMIT 1').get();
    return row && toVersion(row);
  }

  get(id: number): StoredVersion | undefined {
    const row = this.db.prepare<[number], Row>('SELECT * FROM versions WHERE id = ?').get(id);
    return row && toVersion(row);
  }

  /** The version before `id`, if kept. */
  before(id: number): StoredVersion | undefined {
    const row = this.db.prepare<[number], Row>('SELECT * FROM versions WHERE id < ? ORDER BY id DESC LIMIT 1').get(id);
    return row && toVersion(row);
  }

  /** Newest first, at most `limit`. */
  list(limit = 100): VersionSummary[] {
    return this.db
      .prepare<[number], Omit<Row, 'text'>>('SELECT id, time, kind, actor, file_hash FROM versions ORDER BY id DESC LIMIT ?')
      .all(limit)
      .map((r) => ({ id: r.id, time: r.time, kind: r.kind, actor: r.actor, fileHash: r.file_hash }));
  }

  /** Adds a version and drops those past the limit kept; returns it. */
  add(kind: VersionKind, actor: string, text: string, fileHash: string): StoredVersion {
    const time = new Date().toISOString();
    const add = this.db.transaction(() => {
      const info = this.db.prepare('INSERT INTO versions (time, kind, actor, text, file_hash) VALUES (?, ?, ?, ?, ?)').run(time, kind, actor, text, fileHash);
      this.db.prepare('DELETE FROM versions WHERE id <= (SELECT MAX(id) FROM versions) - ?').run(this.keep);
      return Number(info.lastInsertRowid);
    });
    return { id: add(), time, kind, actor, text, fileHash };
  }

  close(): void {
    this.db.close();
  }
}
