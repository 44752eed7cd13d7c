/**
 * The audit trail the gateway keeps: every config load, reload and refused
 * reload appended to a JSON-lines file as a hash-chained, signed record
 * (record.ts), a signed head beside the file after each one, a signed
 * checkpoint every `checkpoint_every` records and at shutdown, and a copy of
 * each record on the event bus for the sinks (a SIEM holds the second copy).
 *
 * A record that cannot be written does not stop the change it records: the
 * error is logged, an `audit.write_failed` event carries the record to the
 * sinks, and the next record written says how many were missed, so the gap
 * shows in `portcullis audit verify`. Records are written synchronously and
 * fsynced: config changes are rare, and a record must be on disk before the
 * change is reported done.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { EventBus, EventDetailValue, Severity, TelemetryEvent } from '../event.js';
import { EVENT_TYPES, type EventType } from '../event-types.js';
import { cleanDetails } from '../redact.js';
import { diffViews } from './diff.js';
import type { SigningKey } from './keys.js';
import { localOrigin } from './origin.js';
import {
  canonicalJson,
  FORMAT_VERSION,
  seal,
  sha256Hex,
  signHead,
  type AuditActor,
  type AuditOrigin,
  type AuditRecord,
  type ChangeFields,
  type DefenseFields,
  type RecordFields,
} from './record.js';
import { headFileOf, readTail } from './tail.js';
import type { ConfigView } from './view.js';

/** Issues a refused reload records, at most; each at most this long. */
const MAX_ISSUES = 20;
const MAX_ISSUE_LENGTH = 500;

export interface AuditTrailOptions {
  /** Absolute path of the audit file. */
  readonly file: string;
  readonly key: SigningKey;
  readonly checkpointEvery: number;
  readonly events: EventBus;
  readonly logger: Logger;
}

/** The digest of a config view: secrets count as "[secret]" (docs/audit.md: a digest must not let anyone test a guess). */
export function viewDigest(view: ConfigView): string {
  return `sha256:${sha256Hex(canonicalJson(JSON.parse(JSON.stringify(view) ?? "null") as unknown))}`;
}

export class AuditTrail {
  private seq = 0;
  private prev: string;
  private sinceCheckpoint = 0;
  private missed = 0;
  private view: ConfigView | undefined;
  private digest: string | null;
  private readonly origin: AuditOrigin = localOrigin();
  private closed = false;
  /**
   * Events of records written before the gateway has started (a segment found
   * at open), held until loaded() (at most 16): the sinks subscribe during the start.
   */
  private held: TelemetryEvent[] | undefined = [];

  private constructor(
    private readonly options: AuditTrailOptions,
    start: { seq: number; prev: string; digest: string | null },
  ) {
    this.seq = start.seq;
    this.prev = start.prev;
    this.digest = start.digest;
  }

  /**
   * Opens the file and continues its chain from the last record, after
   * checking that record and the signed head. A tail that does not check out
   * is logged as an error, emitted as an `audit.chain_broken` event, and
   * answered by a segment record that names the broken line: the new records
   * chain from there, and verify still reports the break.
   */
  static open(options: AuditTrailOptions): AuditTrail {
    mkdirSync(dirname(options.file), { recursive: true });
    const tail = readTail(options.file, options.key);
    if (tail.ok) {
      if (tail.otherKid) options.logger.warn({ file: options.file, previous_kid: tail.otherKid, kid: options.key.kid }, 'the audit trail continues under a new key: verify it with both keys');
      return new AuditTrail(options, tail);
    }
    options.logger.error({ file: options.file, line: tail.brokenLine, reason: tail.reason }, 'the audit trail is broken; starting a new segment that records the break');
    const trail = new AuditTrail(options, { seq: tail.seq, prev: tail.brokenSha256, digest: null });
    if (tail.partial) trail.writeRaw('\n');
    trail.append({ kind: 'segment', reason: tail.reason, broken_line: tail.brokenLine, broken_sha256: tail.brokenSha256 });
    return trail;
  }

  get kid(): string {
    return this.options.key.kid;
  }

  /** The gateway started on a config. */
  loaded(view: ConfigView | undefined, version: number, actor: AuditActor): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const event of held) this.options.events.emit(event);
    this.guarded(() => {
      const digest = view ? viewDigest(view) : null;
      this.change({ action: 'config.load', actor, version: { before: null, after: version }, digest: { before: this.digest, after: digest } });
      this.view = view;
      this.digest = digest;
    });
  }

  /** A reload swapped a new config in. */
  reloaded(view: ConfigView | undefined, before: number, after: number, actor: AuditActor): void {
    this.guarded(() => {
      const digest = view ? viewDigest(view) : null;
      const diff = this.view === undefined || view === undefined ? undefined : diffViews(this.view, view);
      this.change({
        action: 'config.reload',
        actor,
        version: { before, after },
        digest: { before: this.digest, after: digest },
        changes: diff?.changes,
        changes_omitted: diff && diff.omitted > 0 ? diff.omitted : undefined,
      });
      this.view = view;
      this.digest = digest;
    });
  }

  /** A reload was refused; the running config keeps serving. */
  refused(issues: readonly string[], version: number, actor: AuditActor): void {
    this.guarded(() =>
      this.change({
        action: 'config.refused',
        actor,
        version: { before: version, after: null },
        digest: { before: this.digest, after: null },
        issues: issues.slice(0, MAX_ISSUES).map((i) => (i.length > MAX_ISSUE_LENGTH ? `${i.slice(0, MAX_ISSUE_LENGTH)}…` : i)),
      }),
    );
  }

  /** An automatic defense action (src/defense/): each is a record of its own, like a config change. */
  defense(fields: Omit<DefenseFields, 'kind'>): void {
    if (this.closed) return;
    this.guarded(() => {
      this.append({ kind: 'defense', ...fields });
      if (++this.sinceCheckpoint >= this.options.checkpointEvery) this.checkpoint('every');
    });
  }

  /**
   * The gateway's change goes on whatever happens here: a record that cannot
   * even be made (a config nested past the stack, say) is logged and counted
   * as missed, like one that cannot be written.
   */
  private guarded(make: () => void): void {
    try {
      make();
    } catch (err) {
      this.seq++;
      this.missed++;
      this.options.logger.error({ err, file: this.options.file, seq: this.seq }, 'an audit record could not be made; the change still applies');
    }
  }

  /** A last checkpoint, so a clean stop leaves a signed count of everything written. */
  close(): void {
    if (this.closed) return;
    this.checkpoint('shutdown');
    this.closed = true;
  }

  private change(fields: Omit<ChangeFields, 'kind' | 'origin'>): void {
    if (this.closed) return;
    this.append({ kind: 'change', ...fields, origin: this.origin });
    if (++this.sinceCheckpoint >= this.options.checkpointEvery) this.checkpoint('every');
  }

  private checkpoint(reason: 'every' | 'shutdown'): void {
    this.sinceCheckpoint = 0;
    this.append({ kind: 'checkpoint', reason, count: this.seq + 1, head: this.prev, digest: this.digest });
  }

  private append(fields: RecordFields): void {
    const missed = this.missed > 0 ? this.missed : undefined;
    const record = seal({ v: FORMAT_VERSION, seq: this.seq + 1, time: new Date().toISOString(), kid: this.options.key.kid, prev: this.prev, missed, ...fields }, this.options.key);
    const line = JSON.stringify(record);
    // The sequence moves on even when the write fails, so the gap is a missing seq that the next record explains.
    this.seq = record.seq;
    let written = false;
    try {
      this.writeRaw(`${line}\n`);
      written = true;
      this.prev = record.hash;
      this.missed = 0;
      this.writeHead(record);
    } catch (err) {
      if (!written) this.missed++;
      this.options.logger.error({ err, file: this.options.file, seq: record.seq, written }, written ? 'the audit head could not be written' : 'an audit record could not be written; the change still applies');
      if (!written) this.emit(record, line, { type: 'audit.write_failed', severity: 'high', message: `audit record ${record.seq} could not be written to ${this.options.file}` });
      if (!written) return;
    }
    this.emit(record, line);
  }

  /**
   * Opened for each record (config changes are rare): a file moved away or
   * replaced is not written through a stale descriptor, and a failure leaves
   * nothing open.
   */
  private writeRaw(text: string): void {
    const fd = openSync(this.options.file, 'a', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Written to a temporary file and renamed over the head: a reader sees the old head or the new, never half of one. */
  private writeHead(record: AuditRecord): void {
    const head = signHead({ seq: record.seq, count: record.seq, hash: record.hash, time: record.time }, this.options.key);
    const file = headFileOf(this.options.file);
    writeFileSync(`${file}.tmp`, `${JSON.stringify(head)}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  private emit(record: AuditRecord, line: string, override?: { type: EventType; severity: Severity; message: string }): void {
    const bus = this.options.events;
    if (!bus.active && !this.held) return;
    const details: Record<string, EventDetailValue> = { seq: record.seq, kid: record.kid, hash: record.hash, prev: record.prev, record: line };
    let type: EventType;
    let severity: Severity = 'info';
    let message: string;
    if (record.kind === 'change') {
      ({ type, severity } = CHANGE_EVENTS[record.action]);
      message =
        record.action === 'config.load'
          ? `config version ${record.version.after} loaded at start`
          : record.action === 'config.reload'
            ? `config reloaded: version ${record.version.before} to ${record.version.after}, ${record.changes?.length ?? 0} changes`
            : `config reload refused; version ${record.version.before} keeps serving`;
      details.action = record.action;
      details.actor = describeActor(record.actor);
      details.origin = `${record.origin.host} pid ${record.origin.pid}${record.origin.user ? ` user ${record.origin.user}` : ''}`;
      if (record.version.before !== null) details.version_before = record.version.before;
      if (record.version.after !== null) details.version_after = record.version.after;
      if (record.digest.before) details.digest_before = record.digest.before;
      if (record.digest.after) details.digest_after = record.digest.after;
      if (record.changes) details.changes = record.changes.length + (record.changes_omitted ?? 0);
    } else if (record.kind === 'defense') {
      ({ type, severity } = DEFENSE_EVENT);
      message = `defense: ${record.action} ${record.type} ${record.scope} ${record.target} by ${record.by}`;
      Object.assign(details, { action: record.action, id: record.id, kind: record.type, scope: record.scope, target: record.target, by: record.by });
      if (record.expires_at) details.expires_at = record.expires_at;
    } else if (record.kind === 'checkpoint') {
      ({ type } = CHECKPOINT_EVENT);
      message = `audit checkpoint: ${record.count} records, head ${record.head.slice(0, 12)}`;
      details.count = record.count;
    } else {
      ({ type, severity } = BROKEN_EVENT);
      message = `the audit trail was broken at line ${record.broken_line}: ${record.reason}`;
      details.reason = record.reason;
      details.broken_line = record.broken_line;
    }
    const finalType = override?.type ?? type;
    const event: TelemetryEvent = {
      time: record.time,
      node: bus.node,
      type: finalType,
      category: 'audit',
      severity: override?.severity ?? severity,
      action: record.kind === 'change' ? 'changed' : 'observed',
      message: override?.message ?? message,
      source: 'audit',
      details: cleanDetails(EVENT_TYPES[finalType], details),
    };
    if (this.held) {
      if (this.held.length < 16) this.held.push(event);
    } else bus.emit(event);
  }
}

/** The event type of each audit record kind (event-types.ts registers them). */
const CHANGE_EVENTS = {
  'config.load': { type: 'audit.config_load', severity: 'info' },
  'config.reload': { type: 'audit.config_reload', severity: 'low' },
  'config.refused': { type: 'audit.config_refused', severity: 'medium' },
} as const satisfies Record<string, { type: EventType; severity: Severity }>;
const CHECKPOINT_EVENT = { type: 'audit.checkpoint' } as const;
const DEFENSE_EVENT = { type: 'audit.defense_action', severity: 'low' } as const;
const BROKEN_EVENT = { type: 'audit.chain_broken', severity: 'critical' } as const;

export function describeActor(actor: AuditActor): string {
  switch (actor.kind) {
    case 'file':
      return `file ${actor.file ?? ''}${actor.file_uid !== undefined ? ` (owner uid ${actor.file_uid})` : ''}`;
    case 'signal':
      return `signal ${actor.signal ?? ''}`.trim();
    case 'admin':
      return `admin ${actor.name ?? ''}`.trim();
    case 'start':
      return `start ${actor.file ?? ''}`.trim();
    default:
      return actor.kind;
  }
}
