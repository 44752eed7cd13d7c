/**
 * portcullis ca init | issue | inspect | revoke | crl
 * The CA key is read from its file when needed and never printed or copied.
 * (Loaded by src/cli.ts only for `ca` commands: the X.509 library costs
 * ~150 ms of start-up that the gateway itself rarely needs.)
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeArgsError } from '../lib/args-error.js';
import { CA_HELP } from './help.js';
import { parseDuration } from '../config/units.js';
import type { RevokedEntry } from './authority.js';
import { parsePemCertificates } from '../tls/cert-info.js';
import { describeCertificates } from './inspect.js';
import type { KeyType } from './keys.js';
import { initCaDir, openCaDir, revoke, writeCrl, writeFileAtomic } from './store.js';


export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Where --passphrase-env looks (process.env when not given). */
  env?: NodeJS.ProcessEnv;
}

class CaUsageError extends Error {}

const REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', 'privilegeWithdrawn', 'aACompromise'];

const OPTIONS = {
  dir: { type: 'string', default: 'ca' },
  name: { type: 'string' },
  ttl: { type: 'string' },
  'key-type': { type: 'string' },
  'crl-url': { type: 'string' },
  'crl-ttl': { type: 'string' },
  spiffe: { type: 'string' },
  dns: { type: 'string', multiple: true },
  ip: { type: 'string', multiple: true },
  email: { type: 'string', multiple: true },
  cn: { type: 'string' },
  org: { type: 'string' },
  usage: { type: 'string' },
  out: { type: 'string' },
  serial: { type: 'string' },
  reason: { type: 'string' },
  'passphrase-env': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function options(args: string[]) {
  try {
    return parseArgs({ args, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    throw new CaUsageError(describeArgsError(err, OPTIONS));
  }
}

export async function runCaCommand(args: string[], io: Output): Promise<number> {
  try {
    return await dispatch(args, io);
  } catch (err) {
    io.err(`portcullis ca: ${(err as Error).message}\n`);
    return err instanceof CaUsageError ? 2 : 1;
  }
}

async function dispatch(args: string[], io: Output): Promise<number> {
  const { values, positionals } = options(args);
  const [command, ...rest] = positionals;
  if (values.help || command === 'help') {
    io.out(`Usage:\n${CA_HELP}`);
    return 0;
  }
  const passphrase = values['passphrase-env'] !== undefined ? passphraseFrom(values['passphrase-env'], io.env ?? process.env) : undefined;
  switch (command) {
    case 'init': {
      noPositionals(rest);
      const ca = await initCaDir(values.dir, {
        name: values.name,
        ttlMs: duration(values.ttl ?? '3650d', '--ttl'),
        keyType: keyType(values['key-type']),
        crlUrl: values['crl-url'],
        crlTtlMs: values['crl-ttl'] !== undefined ? duration(values['crl-ttl'], '--crl-ttl') : undefined,
        passphrase,
      });
      io.out(`created CA in ${ca.dir}: ${ca.paths.cert}, ${ca.paths.key} (mode 0600, keep it secret), ${ca.paths.crl}\n`);
      io.out(describeCertificates(ca.authority.certPem));
      return 0;
    }
    case 'issue': {
      noPositionals(rest);
      const usage = values.usage ?? 'both';
      if (usage !== 'both' && usage !== 'server' && usage !== 'client') throw new CaUsageError(`--usage is both, server or client, not "${usage}"`);
      const ca = await openCaDir(values.dir, passphrase);
      const issued = await ca.authority.issue({
        spiffe: values.spiffe,
        dns: values.dns,
        ips: values.ip,
        emails: values.email,
        commonName: values.cn,
        organization: values.org,
        ttlMs: duration(values.ttl ?? '24h', '--ttl'),
        usage,
        keyType: keyType(values['key-type']),
        crlUrl: ca.state.crl_url,
      });
      const prefix = values.out ?? defaultPrefix(values);
      // --out certs/x: the folder is made (owner-only, like the key it will hold) rather than an ENOENT.
      mkdirSync(dirname(resolve(prefix)), { recursive: true, mode: 0o700 });
      // The key first: when a gateway watches both files, the new pair is complete once the certificate lands.
      writeFileAtomic(`${prefix}.key`, issued.keyPem, 0o600);
      writeFileAtomic(`${prefix}.crt`, issued.certPem, 0o644);
      io.out(`wrote ${resolve(prefix)}.crt and ${resolve(prefix)}.key (mode 0600)\n`);
      io.out(describeCertificates(issued.certPem));
      return 0;
    }
    case 'inspect': {
      if (rest.length !== 1) throw new CaUsageError('inspect needs one file: portcullis ca inspect FILE');
      io.out(describeCertificates(readFile(rest[0]!)));
      return 0;
    }
    case 'revoke': {
      const ca = await openCaDir(values.dir, passphrase);
      let serial = values.serial;
      if (rest.length === 1 && serial === undefined) {
        const [cert] = parsePemCertificates(readFile(rest[0]!));
        if (!cert) throw new Error(`${rest[0]} holds no certificate`);
        serial = cert.serialNumber;
      } else if (rest.length > 0 || serial === undefined) {
        throw new CaUsageError('revoke needs a certificate file or --serial HEX');
      }
      const reason = values.reason;
      if (reason !== undefined && !REASONS.includes(reason)) throw new CaUsageError(`--reason is one of ${REASONS.join(', ')}`);
      const added = await revoke(ca, serial, reason as RevokedEntry['reason']);
      io.out(added ? `revoked ${serial.toUpperCase()}; wrote ${ca.paths.crl}\n` : `${serial.toUpperCase()} was already revoked\n`);
      return 0;
    }
    case 'crl': {
      noPositionals(rest);
      const ca = await openCaDir(values.dir, passphrase);
      await writeCrl(ca);
      io.out(`wrote ${ca.paths.crl} (${ca.state.revoked.length} revoked, number ${ca.state.crl_number})\n`);
      return 0;
    }
    default:
      throw new CaUsageError(command ? `unknown ca command "${command}" (init, issue, inspect, revoke, crl)` : 'ca needs a command: init, issue, inspect, revoke or crl');
  }
}

/** A file the user named, or one line saying why it cannot be read (not a raw ENOENT). */
function readFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new Error(`${file}: ${why}`);
  }
}

function noPositionals(rest: string[]): void {
  if (rest.length > 0) throw new CaUsageError(`unexpected argument "${rest[0]}"`);
}

function duration(text: string, flag: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw new CaUsageError(`${flag} expects a duration like "24h" or "90d", got "${text}"`);
  }
}

function keyType(text: string | undefined): KeyType {
  if (text === undefined || text === 'ec') return 'ec';
  if (text === 'rsa') return 'rsa';
  throw new CaUsageError(`--key-type is ec or rsa, not "${text}"`);
}

function passphraseFrom(variable: string, env: NodeJS.ProcessEnv): string {
  const value = env[variable];
  if (value === undefined || value === '') throw new CaUsageError(`--passphrase-env ${variable}: the variable is not set`);
  return value;
}

function defaultPrefix(values: { cn?: string; dns?: string[]; spiffe?: string; ip?: string[] }): string {
  const base = values.cn ?? values.dns?.[0] ?? values.spiffe?.split('/').at(-1) ?? values.ip?.[0] ?? 'leaf';
  return base.replace(/[^A-Za-z0-9._-]/g, '_');
}
