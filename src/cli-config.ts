/**
 * portcullis config dump | diff FILE | apply FILE, and admin-token: the
 * config of a running gateway through its admin API, like decK's dump, diff
 * and sync (docs/admin-api.md#gitops). The token is read from the
 * environment (PORTCULLIS_ADMIN_TOKEN, or --token-env NAME), never from a
 * flag, which any user of the machine could read in the process list.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Client } from 'undici';
import { describeArgsError } from './lib/args-error.js';
import { newToken } from './admin/api/tokens.js';

export const CONFIG_HELP = `  portcullis config dump | diff FILE | apply FILE [--admin URL] [--token-env NAME]
      The running config through the admin API (admin.api): dump prints it as YAML
      (secrets as "[secret]", references as written); diff prints what applying FILE
      would change; apply makes FILE the running config ("[secret]" keeps the running
      secret). URL: the admin listener (default http://127.0.0.1:9901); the token is
      read from $PORTCULLIS_ADMIN_TOKEN (or the variable --token-env names).
  portcullis admin-token NAME [--role ROLE]
      Make an admin token: prints it once, and the line for admin.api.tokens (its SHA-256).
`;

class ConfigUsageError extends Error {}

export interface ConfigIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

const OPTIONS = {
  admin: { type: 'string' },
  'token-env': { type: 'string' },
  role: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const MAX_FILE = 16 * 1024 * 1024;

interface Answer {
  status: number;
  etag: string | undefined;
  text: string;
}

async function call(base: string, token: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const client = new Client(base, { headersTimeout: 30_000, bodyTimeout: 30_000 });
  try {
    const res = await client.request({
      path,
      method: method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/yaml' } : {}), ...headers },
      body,
    });
    const etag = res.headers.etag;
    return { status: res.statusCode, etag: typeof etag === 'string' ? etag : undefined, text: await res.body.text() };
  } finally {
    await client.close();
  }
}

/** The refusal of an answer as lines: `path: message` for each config error. */
function refusal(a: Answer): string {
  try {
    const body = JSON.parse(a.text) as { error?: string; message?: string; errors?: string[] };
    if (body.errors?.length) return body.errors.map((e) => `  ${e}\n`).join('');
    return `  ${a.status} ${body.error ?? ''}${body.message ? `: ${body.message}` : ''}\n`;
  } catch {
    return `  ${a.status}\n`;
  }
}

type ChangeLine = { op: 'added' | 'removed' | 'changed'; path: string; before?: unknown; after?: unknown };

function printChanges(changes: ChangeLine[], out: (t: string) => void): void {
  const show = (v: unknown) => JSON.stringify(v);
  for (const c of changes) {
    if (c.op === 'added') out(`+ ${c.path}: ${show(c.after)}\n`);
    else if (c.op === 'removed') out(`- ${c.path}: ${show(c.before)}\n`);
    else out(`~ ${c.path}: ${show(c.before)} -> ${show(c.after)}\n`);
  }
}

export async function runConfigCommand(argv: string[], io: ConfigIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    io.stderr(`portcullis config: ${describeArgsError(err, OPTIONS)}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [sub, file, ...extra] = positionals;
  if (values.help || sub === undefined) {
    (values.help ? io.stdout : io.stderr)(`Usage:\n${CONFIG_HELP}`);
    return values.help ? 0 : 2;
  }
  try {
    if (extra.length > 0) throw new ConfigUsageError(`unexpected argument "${extra[0]}"`);
    const tokenVar = values['token-env'] ?? 'PORTCULLIS_ADMIN_TOKEN';
    const token = io.env[tokenVar];
    if (!token) throw new ConfigUsageError(`set ${tokenVar} to an admin token`);
    const base = values.admin ?? 'http://127.0.0.1:9901';
    if (!/^https?:\/\/[^/]+\/?$/.test(base)) throw new ConfigUsageError(`--admin: a URL like http://127.0.0.1:9901, not "${base}"`);
    const readDoc = () => {
      if (file === undefined) throw new ConfigUsageError(`config ${sub} FILE: which file?`);
      const text = readFileSync(file, 'utf8');
      if (text.length > MAX_FILE) throw new Error(`${file}: larger than 16 MiB`);
      return text;
    };
    switch (sub) {
      case 'dump': {
        if (file !== undefined) throw new ConfigUsageError(`unexpected argument "${file}"`);
        const a = await call(base, token, 'GET', '/api/v1/config');
        if (a.status !== 200) return fail(io, 'dump', a);
        io.stdout(a.text);
        return 0;
      }
      case 'diff': {
        const a = await call(base, token, 'POST', '/api/v1/config/diff', readDoc());
        if (a.status !== 200) return fail(io, 'diff', a);
        const { changes } = JSON.parse(a.text) as { changes: ChangeLine[] };
        if (changes.length === 0) io.stdout('no changes\n');
        printChanges(changes, io.stdout);
        return 0;
      }
      case 'apply': {
        const text = readDoc();
        const current = await call(base, token, 'GET', '/api/v1/config');
        if (current.status !== 200 || current.etag === undefined) return fail(io, 'apply', current);
        const diff = await call(base, token, 'POST', '/api/v1/config/diff', text);
        if (diff.status !== 200) return fail(io, 'apply', diff);
        const { changes } = JSON.parse(diff.text) as { changes: ChangeLine[] };
        if (changes.length === 0) {
          io.stdout('no changes\n');
          return 0;
        }
        const a = await call(base, token, 'PUT', '/api/v1/config', text, { 'if-match': current.etag });
        if (a.status !== 200) return fail(io, 'apply', a);
        printChanges(changes, io.stdout);
        const { version } = JSON.parse(a.text) as { version: number | null };
        io.stdout(`applied: version ${version ?? '?'}\n`);
        return 0;
      }
      default:
        throw new ConfigUsageError(`unknown config command "${sub}" (dump, diff, apply)`);
    }
  } catch (err) {
    io.stderr(`portcullis config: ${(err as Error).message}\n`);
    return err instanceof ConfigUsageError ? 2 : 1;
  }
}

function fail(io: ConfigIo, what: string, a: Answer): number {
  io.stderr(`portcullis config ${what}: refused (${a.status})\n${refusal(a)}`);
  return 1;
}

export function runAdminTokenCommand(argv: string[], io: ConfigIo): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    io.stderr(`portcullis admin-token: ${describeArgsError(err, OPTIONS)}\n`);
    return 2;
  }
  const [name, ...extra] = parsed.positionals;
  if (parsed.values.help || name === undefined || extra.length > 0 || !/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(name)) {
    (parsed.values.help ? io.stdout : io.stderr)(`Usage:\n${CONFIG_HELP}`);
    return parsed.values.help ? 0 : 2;
  }
  const role = parsed.values.role ?? 'viewer';
  const { token, sha256 } = newToken();
  io.stderr('The token is shown once: keep it now. The config holds only its SHA-256.\n');
  io.stdout(`token: ${token}\nadmin.api.tokens entry:\n  - { name: ${name}, role: ${role}, token_sha256: "${sha256}" }\n`);
  return 0;
}
