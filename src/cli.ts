#!/usr/bin/env node
/**
 * portcullis start | validate | reload | ca | --version | --help
 * Bad flags and unreadable files give one clear line and an exit code, never a stack trace.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CA_HELP } from './ca/help.js';
import { parseListenAddress } from './config/ajv.js';
import { formatIssue, InvalidConfigError } from './config/errors.js';
import { startDemoUpstream } from './demo/upstream.js';
import { Gateway } from './gateway.js';
import { loadConfig } from './load-config.js';
import { ListenError } from './server/listen-error.js';
import { StoreRegistry } from './stores/registry.js';
import { hashPassword } from './identity/passwords.js';
import { UpstreamRegistry } from './upstream/registry.js';
import { generateRoutes } from './policies/request-validation/routes.js';
import { createLogger } from './telemetry/logger.js';
import { describeArgsError } from './lib/args-error.js';

const HELP = `portcullis — a secure API gateway

Usage:
  portcullis start -c FILE [--watch] [--pid-file PATH] [--demo-upstream HOST:PORT]
      Run the gateway on FILE (YAML or JSON). SIGHUP reloads, SIGTERM drains and stops.
      --watch            reload when FILE changes
      --pid-file PATH    where to write the process id (default: derived from FILE)
      --demo-upstream A  also start the quick start's demo upstream on A (e.g. 127.0.0.1:9001)
  portcullis validate FILE
      Check FILE; exit 0 when valid, 1 with every problem as file:line: path: message.
  portcullis reload [-c FILE] [--pid-file PATH]
      Ask the gateway started on FILE to reload it, and print the outcome.
  portcullis hash-password
      Read a password from standard input (one line) and print its hash for
      basic-auth credentials: $scrypt$ln=15,r=8,p=1$<salt>$<hash>
  portcullis openapi-routes SPEC --service NAME [--auth POLICY|none]
      Print routes for every path of an OpenAPI 3.0/3.1 description (YAML, to put
      under routes:), each validated against SPEC; --auth adds that authentication
      policy to each (default key-auth), none makes them public.
${CA_HELP}  portcullis --version | --help
`;

class UsageError extends Error {}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function defaultPidFile(configFile: string): string {
  const digest = createHash('sha256').update(resolve(configFile)).digest('hex').slice(0, 12);
  return join(tmpdir(), `portcullis-${digest}.pid`);
}

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  watch: { type: 'boolean' },
  'pid-file': { type: 'string' },
  'demo-upstream': { type: 'string' },
  service: { type: 'string' },
  auth: { type: 'string' },
  version: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse(args: string[]) {
  try {
    return parseArgs({ args, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    throw new UsageError(describeArgsError(err, OPTIONS));
  }
}

async function main(argv: string[]): Promise<number> {
  // The CA commands have flags of their own.
  if (argv[0] === 'ca') {
    const { runCaCommand } = await import('./ca/cli.js');
    return runCaCommand(argv.slice(1), { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
  }
  const { values, positionals } = parse(argv);
  if (values.version) {
    process.stdout.write(`portcullis ${packageVersion()}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!command) {
    // Asked for nothing: the usage is the answer, but as an error (stderr, exit 2), so scripts notice.
    process.stderr.write(HELP);
    return 2;
  }
  const file = values.config ?? rest[0];
  if (rest.length > (values.config ? 0 : 1)) throw new UsageError(`unexpected argument "${rest.at(-1)}"`);
  switch (command) {
    case 'validate':
      if (!file) throw new UsageError('validate needs a config file: portcullis validate FILE');
      return validate(file);
    case 'start':
      if (!file) throw new UsageError('start needs a config file: portcullis start -c FILE');
      return start(file, values.watch ?? false, values['pid-file'] ?? defaultPidFile(file), values['demo-upstream']);
    case 'reload':
      return reload(values['pid-file'] ?? (file ? defaultPidFile(file) : undefined));
    case 'hash-password':
      if (file) throw new UsageError('hash-password reads the password from standard input, not from an argument (it would stay in shell history)');
      return printPasswordHash();
    case 'openapi-routes':
      if (!file) throw new UsageError('openapi-routes needs a spec file: portcullis openapi-routes SPEC --service NAME');
      if (!values.service) throw new UsageError('openapi-routes needs --service NAME: the service the routes proxy to');
      process.stdout.write(generateRoutes(readSpec(file), { specFile: file, service: values.service, auth: values.auth ?? 'key-auth' }));
      return 0;
    default:
      throw new UsageError(`unknown command "${command}" (commands: start, validate, reload, hash-password, openapi-routes, ca)`);
  }
}

function readSpec(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${file}: ${code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : (err as Error).message}`);
  }
}

/** The password is read from stdin so it never appears in argv (ps) or shell history. */
async function printPasswordHash(): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password === '') throw new UsageError('no password on standard input: printf %s "$PASSWORD" | portcullis hash-password');
  if (password.includes('\n')) throw new UsageError('the password is one line; standard input held several');
  process.stdout.write(`${await hashPassword(password)}\n`);
  return 0;
}

function validate(file: string): number {
  const { logger } = createLogger({ level: 'silent' });
  const upstreams = new UpstreamRegistry(logger);
  const stores = new StoreRegistry(logger);
  const result = loadConfig(file, { upstreams, stores, logger, version: 0 });
  if (!result.ok) {
    for (const issue of result.issues) process.stderr.write(formatIssue(issue) + '\n');
    return 1;
  }
  upstreams.discard(result.snapshot.services);
  stores.discard(result.snapshot.stores);
  const s = result.snapshot;
  const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
  const counts = [count(s.config.listeners.length, 'listener'), count(s.services.size, 'service'), count(s.routes.size, 'route'), count(s.config.consumers.length, 'consumer')];
  process.stdout.write(`${file}: valid (${counts.join(', ')})\n`);
  return 0;
}

async function start(file: string, watch: boolean, pidFile: string, demo: string | undefined): Promise<number> {
  if (demo !== undefined) {
    const address = parseListenAddress(demo);
    if (!address) throw new UsageError(`--demo-upstream expects host:port, got "${demo}"`);
    await startDemoUpstream(address.host, address.port).catch((err: unknown) => {
      throw new ListenError({ name: 'demo', address: demo, kind: 'the demo upstream' }, err);
    });
    process.stderr.write(`demo upstream on http://${demo}\n`);
  }
  let gateway: Gateway;
  try {
    gateway = await Gateway.start({ configFile: file, watch });
  } catch (err) {
    if (err instanceof InvalidConfigError) {
      for (const issue of err.issues) process.stderr.write(formatIssue(issue) + '\n');
      return 1;
    }
    throw err;
  }
  writeFileSync(pidFile, `${process.pid}\n`);
  for (const listener of gateway.listeners.values()) process.stderr.write(`portcullis listening on ${listener.url} (${listener.name})\n`);

  const statusFile = `${pidFile}.reload`;
  process.on('SIGHUP', () => {
    void gateway.reload().then((result) => writeFileSync(statusFile, JSON.stringify({ at: Date.now(), ...result })));
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`${signal}: finishing in-flight requests\n`);
    void gateway.shutdown().then(() => {
      rmSync(pidFile, { force: true });
      rmSync(statusFile, { force: true });
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return new Promise<number>(() => {}); // runs until a signal
}

async function reload(pidFile: string | undefined): Promise<number> {
  if (!pidFile) throw new UsageError('reload needs the config file the gateway runs (-c FILE) or --pid-file');
  if (!existsSync(pidFile)) throw new UsageError(`no running gateway found (${pidFile} does not exist)`);
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const statusFile = `${pidFile}.reload`;
  const asked = Date.now();
  try {
    process.kill(pid, 'SIGHUP');
  } catch {
    throw new UsageError(`the gateway (pid ${pid}) is not running`);
  }
  for (let waited = 0; waited < 15_000; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(statusFile)) continue;
    const status = JSON.parse(readFileSync(statusFile, 'utf8')) as {
      at: number;
      ok: boolean;
      version?: number;
      issues?: Array<{ file: string; line: number; path: string; message: string }>;
    };
    if (status.at < asked) continue;
    if (status.ok) {
      process.stdout.write(`reloaded: config version ${status.version}\n`);
      return 0;
    }
    process.stderr.write('reload refused; the running config keeps serving:\n');
    for (const issue of status.issues ?? []) process.stderr.write(formatIssue(issue) + '\n');
    return 1;
  }
  process.stderr.write(`sent SIGHUP to ${pid}, but it did not report back within 15s\n`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`portcullis: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`portcullis: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
