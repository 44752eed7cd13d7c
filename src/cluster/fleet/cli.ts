/**
 * portcullis fleet token -c FILE [--ttl 1h] [--name NODE]
 * The token goes to stdout alone (so a script can capture it); what it is
 * goes to stderr. It is never written anywhere in clear.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseSource, readSource } from '../../config/load.js';
import { parseDuration } from '../../config/units.js';
import { describeArgsError } from '../../lib/args-error.js';
import { FLEET_HELP } from './help.js';
import { createToken } from './tokens.js';

export interface FleetIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  ttl: { type: 'string', default: '1h' },
  name: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Longest a token may live: enrolment is a moment, a token lying around for weeks is a credential. */
const MAX_TTL_MS = 7 * 86_400_000;

export function runFleetCommand(args: string[], io: FleetIo): number {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    io.err(`portcullis fleet: ${describeArgsError(err, OPTIONS)}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] !== 'token' || positionals.length > 1) {
    if (values.help) io.out(`Usage:\n${FLEET_HELP}`);
    else io.err(`Usage:\n${FLEET_HELP}`);
    return values.help ? 0 : 2;
  }
  if (!values.config) {
    io.err('portcullis fleet token: needs the control plane\'s config file: -c FILE\n');
    return 2;
  }
  let ttlMs: number;
  try {
    ttlMs = parseDuration(values.ttl);
  } catch {
    io.err(`portcullis fleet token: --ttl expects a duration such as 15m or 1h, got "${values.ttl}"\n`);
    return 2;
  }
  if (!(ttlMs > 0 && ttlMs <= MAX_TTL_MS)) {
    io.err('portcullis fleet token: --ttl must be more than 0 and at most 7d\n');
    return 2;
  }
  if (values.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(values.name)) {
    io.err('portcullis fleet token: --name takes letters, digits, ".", "_", "-" (at most 64)\n');
    return 2;
  }
  let fleet: { role?: unknown; state_dir?: unknown } | undefined;
  let baseDir: string;
  try {
    const source = readSource(values.config);
    baseDir = source.baseDir;
    const loaded = parseSource(source, io.env);
    fleet = loaded.ok ? (loaded.source.data as { fleet?: typeof fleet } | null)?.fleet : undefined;
  } catch (err) {
    io.err(`portcullis fleet token: ${(err as Error).message}\n`);
    return 1;
  }
  if (fleet?.role !== 'control_plane' || typeof fleet.state_dir !== 'string') {
    io.err(`portcullis fleet token: ${values.config} is no control plane's config (fleet.role: control_plane with a state_dir)\n`);
    return 1;
  }
  const made = createToken(resolve(baseDir, fleet.state_dir), ttlMs, values.name);
  io.err(`enrolment token ${made.id}${values.name ? ` for node ${values.name}` : ''}, good once until ${made.expiresAt.toISOString()}:\n`);
  io.out(`${made.token}\n`);
  return 0;
}
