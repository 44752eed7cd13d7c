/**
 * Checks an audit file: every line a record whose hash matches its content
 * and whose signature verifies under one of the given keys; every record
 * linked to the one before (prev) and numbered one after it (seq); every
 * checkpoint's count and head right; and the file holding the record its
 * signed head names, so a cut tail is found. Each problem names the line and
 * the seq; what cannot be judged (a key not given) is a problem too: verify
 * says "intact" only when it checked everything.
 */
import type { VerifyingKey } from './keys.js';
import { GENESIS, hashOf, headSignatureValid, signatureValid, type AuditRecord, type SignedHead } from './record.js';

export interface VerifyProblem {
  /** 1-based line in the file; 0 for the file as a whole. */
  readonly line: number;
  readonly seq?: number;
  readonly message: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly problems: readonly VerifyProblem[];
  readonly records: number;
  readonly changes: number;
  readonly checkpoints: number;
  readonly lastSeq: number;
  readonly lastCheckpointSeq: number | undefined;
  readonly firstTime: string | undefined;
  readonly lastTime: string | undefined;
  readonly kids: readonly string[];
  /** Records after the last checkpoint, and whether the head vouches for them. */
  readonly headSeq: number | undefined;
}

export interface VerifyInput {
  readonly text: string;
  readonly keys: readonly VerifyingKey[];
  /** The signed head (FILE.head or a copy from elsewhere); 'missing' when there is none to check the tail against. */
  readonly head: SignedHead | 'missing' | 'unchecked';
  readonly headName: string;
}

const MAX_PROBLEMS = 100;

/** Records nest a few levels (a diff's values at most MAX_VALUE_BYTES of JSON); a deeper line is not one, and would overflow the stack when hashed. */
const MAX_DEPTH = 64;

function tooDeep(line: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_DEPTH) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * A line as a record, and whether its bytes are exactly what the gateway writes
 * (JSON.stringify of the record): the hash covers what JSON.parse reads, so a
 * duplicate key placed before the real one (JSON.parse keeps the last; other
 * readers the first) or any other re-encoding would otherwise pass as intact.
 */
function parse(line: string): { record: AuditRecord; exact: boolean } | undefined {
  try {
    if (tooDeep(line)) return undefined;
    const value = JSON.parse(line) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const r = value as AuditRecord;
    if (typeof r.seq !== 'number' || typeof r.prev !== 'string' || typeof r.hash !== 'string' || typeof r.sig !== 'string' || typeof r.kid !== 'string') return undefined;
    return { record: r, exact: JSON.stringify(r) === line };
  } catch {
    return undefined;
  }
}

export function verifyAuditText(input: VerifyInput): VerifyReport {
  const problems: VerifyProblem[] = [];
  let omitted = 0;
  const problem = (line: number, seq: number | undefined, message: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push({ line, seq, message });
    else omitted++;
  };
  const keys = new Map(input.keys.map((k) => [k.kid, k]));
  const rawLines = input.text.split('\n');
  const partial = rawLines.at(-1) !== '';
  if (!partial) rawLines.pop();

  const read = rawLines.map(parse);
  const parsed = read.map((r) => r?.record);
  // Where each seq sits, to tell a record moved elsewhere from one deleted.
  const linesOfSeq = new Map<number, number[]>();
  parsed.forEach((r, i) => {
    if (!r) return;
    // Pushed, not copied: a hostile file of many lines with one seq must not take quadratic time.
    const at = linesOfSeq.get(r.seq);
    if (at) at.push(i + 1);
    else linesOfSeq.set(r.seq, [i + 1]);
  });
  const unknownKids = new Set<string>();
  const kids = new Set<string>();
  let prevHash: string | undefined;
  let expected: number | undefined;
  let changes = 0;
  let checkpoints = 0;
  let lastCheckpointSeq: number | undefined;
  let firstTime: string | undefined;
  let lastTime: string | undefined;

  parsed.forEach((record, i) => {
    const line = i + 1;
    if (!record) {
      const last = i === parsed.length - 1 && partial;
      problem(line, undefined, last ? 'the last line is incomplete: a write cut short, or the file cut' : 'not a record (not JSON, or fields missing): modified or damaged');
      prevHash = undefined;
      return;
    }
    const seq = record.seq;
    firstTime ??= record.time;
    lastTime = record.time;
    kids.add(record.kid);
    if (hashOf(record) !== record.hash) problem(line, seq, 'modified: its content does not match its hash');
    else if (!read[i]!.exact) problem(line, seq, 'modified: its bytes are not what the gateway wrote (a duplicate key, or re-encoded), though what JSON.parse reads of it matches its hash');
    else {
      const key = keys.get(record.kid);
      if (!key) unknownKids.add(record.kid);
      else if (!signatureValid(record, key)) problem(line, seq, 'the signature does not verify: a forged or re-hashed record');
    }
    if (record.kind === 'segment') {
      problem(line, seq, `the gateway found the trail broken at line ${record.broken_line} and started a new segment here: ${record.reason}`);
    } else if (expected === undefined) {
      if (seq !== 1 || record.prev !== GENESIS) problem(line, seq, `the file does not start at the chain's start (seq ${seq}, not 1): records before it were deleted`);
    } else if (seq !== expected) {
      const moved = linesOfSeq.get(expected)?.find((l) => l !== line);
      if (seq < expected) {
        const other = linesOfSeq.get(seq)?.find((l) => l !== line);
        problem(line, seq, `out of order: seq ${seq} after seq ${expected - 1}${other ? ` (seq ${seq} is also at line ${other})` : ''}: a record inserted or moved`);
      } else if (moved) problem(line, seq, `out of order: seq ${seq} where seq ${expected} was due (seq ${expected} is at line ${moved}): records reordered`);
      else if (record.missed === seq - expected) {
        problem(line, seq, `${record.missed} record(s) (seq ${expected}${seq - 1 > expected ? `-${seq - 1}` : ''}) the gateway could not write, as this record says: a gap the event sinks may hold`);
      } else problem(line, seq, `seq ${expected}${seq - 1 > expected ? `-${seq - 1}` : ''} missing before it: deleted`);
    } else if (prevHash !== undefined && record.prev !== prevHash) {
      problem(line, seq, `does not link to the record before it (line ${line - 1}): inserted, or the record before it replaced`);
    }
    if (record.kind === 'change') changes++;
    if (record.kind === 'checkpoint') {
      checkpoints++;
      lastCheckpointSeq = seq;
      if (record.count !== seq) problem(line, seq, `checkpoint count ${record.count} does not match its seq`);
      if (prevHash !== undefined && record.head !== prevHash) problem(line, seq, `checkpoint head does not match the record before it (line ${line - 1})`);
    }
    prevHash = record.hash;
    // A segment starts the numbering afresh from itself; otherwise a record out of place does not move the expectation back.
    expected = record.kind === 'segment' ? seq + 1 : Math.max(expected ?? 0, seq + 1);
  });
  for (const kid of unknownKids) problem(0, undefined, `records signed with key ${kid}, which was not given (--key): their signatures could not be checked`);

  const lastSeq = (expected ?? 1) - 1;
  let headSeq: number | undefined;
  if (input.head === 'missing') {
    problem(0, undefined, `no signed head (${input.headName}): a cut tail cannot be ruled out; give --head PATH (a copy from elsewhere) or --no-head to check the chain alone`);
  } else if (input.head !== 'unchecked') {
    const head = input.head;
    headSeq = head.seq;
    const key = keys.get(head.kid);
    if (!key) problem(0, undefined, `the signed head is signed with key ${head.kid}, which was not given (--key)`);
    else if (!headSignatureValid(head, key)) problem(0, undefined, `the signed head (${input.headName}) does not verify: forged or modified`);
    else {
      const at = linesOfSeq.get(head.seq)?.[0];
      const there = at === undefined ? undefined : parsed[at - 1];
      if (head.seq > lastSeq) {
        const after = lastCheckpointSeq === undefined ? '' : `; the last checkpoint in the file is seq ${lastCheckpointSeq}`;
        problem(0, head.seq, `truncated: the file ends at seq ${lastSeq} but the signed head (${head.time}) names seq ${head.seq}: ${head.seq - lastSeq} record(s) cut from the end${after}`);
      } else if (!there || there.hash !== head.hash) {
        problem(at ?? 0, head.seq, `the signed head names seq ${head.seq} with another hash than the file's: the tail was rewritten`);
      } else if (head.seq < lastSeq - 1) {
        problem(0, head.seq, `${lastSeq - head.seq} record(s) after the signed head's seq ${head.seq}: appended after the gateway's last write, or the head rolled back`);
      }
    }
  }
  if (omitted > 0) problems.push({ line: 0, message: `${omitted} more problems not listed` });
  return {
    ok: problems.length === 0,
    problems,
    records: parsed.length,
    changes,
    checkpoints,
    lastSeq,
    lastCheckpointSeq,
    firstTime,
    lastTime,
    kids: [...kids],
    headSeq,
  };
}
