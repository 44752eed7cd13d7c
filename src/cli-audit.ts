/**
 * portcullis audit verify | keygen: checking an audit trail (docs/audit.md)
 * and making the Ed25519 key pair that signs it. verify exits 0 only when
 * every record checked out and the signed head vouches for the tail; 1 with
 * each problem as FILE:LINE: seq N: what is wrong.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describeArgsError } from './lib/args-error.js';
import { generateAuditKeyPair, verifyingKey, type VerifyingKey } from './telemetry/audit/keys.js';
import type { SignedHead } from './telemetry/audit/record.js';
import { headFileOf } from './telemetry/audit/tail.js';
import { verifyAuditText } from './telemetry/audit/verify.js';

export const AUDIT_HELP = `  portcullis audit verify FILE --key KEYFILE [--key KEYFILE]... [--head PATH | --no-head]
      Check an audit trail: names every modified, deleted, inserted or reordered record
      (line and seq) and a tail cut after the signed head (FILE.head, or a copy: --head).
      KEYFILE: the Ed25519 public key (PEM), or the HMAC key; one per key the trail used.
  portcullis audit keygen KEYFILE
      Make an Ed25519 key pair: KEYFILE (private, mode 0600, for telemetry.audit.key)
      and KEYFILE.pub (public, for verify; keep a copy off the gateway).
`;

/** Key and audit files are small; a bigger one is not what was meant. */
const MAX_KEY_BYTES = 64 * 1024;
const MAX_AUDIT_BYTES = 1024 * 1024 * 1024;

class AuditUsageError extends Error {}

export interface AuditIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const OPTIONS = {
  key: { type: 'string', multiple: true },
  head: { type: 'string' },
  'no-head': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function readBounded(file: string, limit: number, what: string): string {
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new AuditUsageError(`${file}: not a regular file (${what})`);
    size = stat.size;
  } catch (err) {
    if (err instanceof AuditUsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new AuditUsageError(`${file}: ${code === 'ENOENT' ? 'file not found' : (code ?? (err as Error).message)} (${what})`);
  }
  if (size > limit) throw new AuditUsageError(`${file}: larger than ${limit} bytes (${what})`);
  return readFileSync(file, 'utf8');
}

/** Runs one audit command; resolves with the exit code (0 intact / done, 1 problems found, 2 usage). */
export async function runAuditCommand(argv: string[], io: AuditIo): Promise<number> {
  try {
    return Promise.resolve(run(argv, io));
  } catch (err) {
    io.stderr(`portcullis audit: ${(err as Error).message}\n`);
    return err instanceof AuditUsageError ? 2 : 1;
  }
}

function run(argv: string[], io: AuditIo): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    throw new AuditUsageError(describeArgsError(err, OPTIONS));
  }
  const { values, positionals } = parsed;
  const [command, file, ...extra] = positionals;
  if (values.help) {
    io.stdout(AUDIT_HELP);
    return 0;
  }
  if (extra.length > 0) throw new AuditUsageError(`unexpected argument "${extra[0]}"`);
  switch (command) {
    case 'verify':
      if (!file) throw new AuditUsageError('verify needs the audit file: portcullis audit verify FILE --key KEYFILE');
      return verifyCommand(file, values.key ?? [], values.head, values['no-head'] ?? false, io);
    case 'keygen':
      if (!file) throw new AuditUsageError('keygen needs where to write the key: portcullis audit keygen KEYFILE');
      return keygen(file, io);
    default:
      throw new AuditUsageError(command ? `unknown audit command "${command}" (verify, keygen)` : 'audit needs a command: verify or keygen');
  }
}

/**
 * Problems quote the file (a segment's reason, a kid), which whoever tampered
 * with it wrote: control characters are shown escaped, so a forged line cannot
 * move the cursor, repaint earlier lines as "intact" or hide the verdict.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function verifyCommand(file: string, keyFiles: readonly string[], headPath: string | undefined, noHead: boolean, io: AuditIo): number {
  if (keyFiles.length === 0) throw new AuditUsageError('verify needs --key KEYFILE: the Ed25519 public key (PEM) or the HMAC key the trail is signed with');
  if (headPath && noHead) throw new AuditUsageError('--head and --no-head exclude each other');
  const keys: VerifyingKey[] = keyFiles.map((k) => {
    try {
      return verifyingKey(readBounded(k, MAX_KEY_BYTES, 'key').replace(/\r?\n$/, ''));
    } catch (err) {
      if (err instanceof AuditUsageError) throw err;
      throw new AuditUsageError(`${k}: ${(err as Error).message}`);
    }
  });
  const text = readBounded(file, MAX_AUDIT_BYTES, 'audit file');
  const headName = headPath ?? headFileOf(file);
  let head: SignedHead | 'missing' | 'unchecked' = 'unchecked';
  if (!noHead) {
    if (!existsSync(headName)) head = 'missing';
    else {
      try {
        head = JSON.parse(readBounded(headName, MAX_KEY_BYTES, 'signed head')) as SignedHead;
      } catch (err) {
        if (err instanceof AuditUsageError) throw err;
        throw new AuditUsageError(`${headName}: not a signed head (not JSON)`);
      }
    }
  }
  const report = verifyAuditText({ text, keys, head, headName });
  if (!report.ok) {
    for (const p of report.problems) io.stderr(`${file}${p.line > 0 ? `:${p.line}` : ''}: ${p.seq !== undefined ? `seq ${p.seq}: ` : ''}${printable(p.message)}\n`);
    io.stderr(`${file}: NOT intact: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} in ${report.records} records\n`);
    return 1;
  }
  const checkpoint = report.lastCheckpointSeq === undefined ? 'no checkpoint yet' : `last checkpoint at seq ${report.lastCheckpointSeq}`;
  const headNote = report.headSeq === undefined ? 'tail not checked (--no-head)' : `signed head at seq ${report.headSeq}`;
  const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
  io.stdout(
    `${file}: intact: ${count(report.records, 'record')} (${count(report.changes, 'config change')}, ${count(report.checkpoints, 'checkpoint')}), seq 1-${report.lastSeq}, ` +
      `${report.firstTime ?? '-'} to ${report.lastTime ?? '-'}; ${checkpoint}; ${headNote}; keys ${report.kids.join(', ') || '-'}\n`,
  );
  return 0;
}

function keygen(file: string, io: AuditIo): number {
  const publicFile = `${file}.pub`;
  for (const f of [file, publicFile]) if (existsSync(f)) throw new AuditUsageError(`${f} exists; not overwriting a key (remove it first)`);
  const pair = generateAuditKeyPair();
  writeFileSync(file, pair.privateKey, { mode: 0o600, flag: 'wx' });
  writeFileSync(publicFile, pair.publicKey, { mode: 0o644, flag: 'wx' });
  io.stdout(`wrote ${file} (private, for telemetry.audit.key: \${file:${file}}) and ${publicFile} (public, for audit verify --key); key id ${pair.kid}\n`);
  return 0;
}
