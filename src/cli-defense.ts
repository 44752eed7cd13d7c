/**
 * portcullis defense list | ban | lift: the actions of automatic defense,
 * through a running gateway's admin API (/api/v1/defense/actions), so an
 * operator's ban reaches every node and the audit trail like a detection's.
 * The token is an admin API token whose role writes `defense` (operator,
 * admin; viewer lists only), read as `portcullis config` reads it: from
 * $PORTCULLIS_ADMIN_TOKEN (or the variable --token-env names), or from
 * --token-file; never from an argument (it would stay in shell history and
 * in `ps`).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { describeArgsError } from './lib/args-error.js';

export const DEFENSE_HELP = `  portcullis defense list [--admin URL]
      The actions in force across the fleet (blocks, suspensions, tighter limits, requirements).
  portcullis defense ban TARGET [--duration 1h] [--reason TEXT] [--kind block|suspend|tighten|require]
                         [--scope ip|consumer|credential] [--limit N --per 1m] [--policy mtls|retry_later]
      Add an action: by default, block the address or CIDR block TARGET for an hour.
  portcullis defense lift ID|TARGET
      End an action now (by id, or every action on TARGET).
      --admin: the admin listener (default $PORTCULLIS_ADMIN_URL, else http://127.0.0.1:9901);
      the token: an admin API token (role operator or admin; viewer may list), read from
      $PORTCULLIS_ADMIN_TOKEN (or the variable --token-env names), or --token-file FILE.
`;

const OPTIONS = {
  admin: { type: 'string' },
  'token-file': { type: 'string' },
  'token-env': { type: 'string' },
  duration: { type: 'string' },
  reason: { type: 'string' },
  kind: { type: 'string' },
  scope: { type: 'string' },
  limit: { type: 'string' },
  per: { type: 'string' },
  policy: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const TIMEOUT_MS = 10_000;
const MAX_TOKEN_BYTES = 4096;

export interface DefenseIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

class DefenseUsageError extends Error {}

interface ActionView {
  id: string;
  kind: string;
  scope: string;
  target: string;
  expires_at: string;
  by: string;
  reason: string;
  strike?: number;
}

export async function runDefenseCommand(argv: string[], io: DefenseIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    io.stderr(`portcullis defense: ${(err as Error).message}\n`);
    return err instanceof DefenseUsageError ? 2 : 1;
  }
}

async function run(argv: string[], io: DefenseIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    throw new DefenseUsageError(describeArgsError(err, OPTIONS));
  }
  const { values, positionals } = parsed;
  const [command, target, extra] = positionals;
  if (values.help || command === undefined) {
    // Asked for nothing: the usage is the answer, but as an error (stderr, exit 2), so scripts notice.
    if (command === undefined && !values.help) {
      io.stderr(DEFENSE_HELP);
      return 2;
    }
    io.stdout(DEFENSE_HELP);
    return 0;
  }
  if (extra !== undefined) throw new DefenseUsageError(`unexpected argument "${extra}"`);
  const base = withoutTrailingSlashes(values.admin ?? io.env.PORTCULLIS_ADMIN_URL ?? 'http://127.0.0.1:9901');
  if (!/^https?:\/\//.test(base)) throw new DefenseUsageError('--admin: a URL like http://127.0.0.1:9901');
  const token = readToken(values['token-file'], values['token-env'] ?? 'PORTCULLIS_ADMIN_TOKEN', io.env);
  const call = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => {
    const res = await request(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await res.body.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON: said below by the status
    }
    if (res.statusCode >= 300) throw new Error(`${res.statusCode} ${typeof json.message === 'string' ? json.message : typeof json.error === 'string' ? json.error : 'refused'}`);
    return json;
  };
  switch (command) {
    case 'list': {
      if (target !== undefined) throw new DefenseUsageError('list takes no argument');
      const answer = await call('GET', '/api/v1/defense/actions');
      const actions = (answer.actions ?? []) as ActionView[];
      if (values.json) io.stdout(`${JSON.stringify(actions, null, 2)}\n`);
      else if (actions.length === 0) io.stdout('no action in force\n');
      else for (const a of actions) io.stdout(`${line(a)}\n`);
      return 0;
    }
    case 'ban': {
      if (target === undefined) throw new DefenseUsageError('ban needs a TARGET: an address, a CIDR block, a consumer or a credential id');
      const limit = values.limit === undefined ? undefined : Number(values.limit);
      if (limit !== undefined && !Number.isSafeInteger(limit)) throw new DefenseUsageError('--limit: a whole number');
      const answer = await call('POST', '/api/v1/defense/actions', {
        target,
        duration: values.duration,
        reason: values.reason,
        kind: values.kind,
        scope: values.scope,
        limit,
        per: values.per,
        policy: values.policy,
      });
      io.stdout(`${line(answer.action as ActionView)}\n`);
      return 0;
    }
    case 'lift': {
      if (target === undefined) throw new DefenseUsageError('lift needs an action id or a TARGET');
      const path = /^[0-9a-f]{16,32}$/.test(target) ? `/${target}` : `?target=${encodeURIComponent(target)}`;
      const answer = await call('DELETE', `/api/v1/defense/actions${path}`);
      for (const a of (answer.lifted ?? []) as ActionView[]) io.stdout(`lifted ${line(a)}\n`);
      return 0;
    }
    default:
      throw new DefenseUsageError(`unknown defense command "${command}" (list, ban, lift)`);
  }
}

function line(a: ActionView): string {
  return `${a.id}  ${a.kind} ${a.scope} ${a.target}  until ${a.expires_at}  by ${a.by}${a.strike ? ` (strike ${a.strike})` : ''}  ${a.reason}`;
}

function readToken(file: string | undefined, variable: string, env: NodeJS.ProcessEnv): string {
  let token: string | undefined;
  if (file !== undefined) {
    const text = readFileSync(file);
    if (text.length > MAX_TOKEN_BYTES) throw new Error(`${file}: larger than ${MAX_TOKEN_BYTES} bytes: not a token`);
    token = text.toString('utf8').trim();
  } else {
    token = env[variable];
  }
  if (!token) throw new DefenseUsageError(`no token: set ${variable} to an admin API token (role operator or admin), or give --token-file FILE`);
  if (/\s/.test(token)) throw new Error('the token holds white space: not a token');
  return token;
}

function withoutTrailingSlashes(url: string): string {
  let end = url.length;
  while (end > 0 && url[end - 1] === '/') end--;
  return url.slice(0, end);
}
