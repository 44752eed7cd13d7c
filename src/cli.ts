#!/usr/bin/env node
/**
 * portcullis start | validate | reload | hash-password | openapi-routes | schema | ca | audit | config | admin-token | defense | fleet | --version | --help
 * Bad flags and unreadable files give one clear line and an exit code, never a stack trace.
 *
 * main(argv, io) runs one command and resolves with its exit code; it never
 * calls process.exit itself (only a started gateway does, on its way out
 * after SIGTERM/SIGINT). The bin entry at the bottom runs it on the process's
 * own streams and environment; tests run it in-process with their own io.
 */
import cluster from 'node:cluster';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { writeReloadStatus } from './lib/reload-status.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { commandHelp, HELP } from './cli-help.js';
import { parseListenAddress } from './config/ajv.js';
import { formatIssue, InvalidConfigError } from './config/errors.js';
import { startDemoUpstream } from './demo/upstream.js';
import { fleetRoleOf, startNode, type RunningNode } from './cluster/fleet/node.js';
import type { SourceText } from './config/load.js';
import { loadConfig } from './load-config.js';
import { ListenError } from './server/listen-error.js';
import { StoreRegistry } from './stores/registry.js';
import { hashPassword } from './identity/passwords.js';
import { UpstreamRegistry } from './upstream/registry.js';
import { generateRoutes } from './policies/request-validation/routes.js';
import { createLogger } from './telemetry/logger.js';
import { describeArgsError } from './lib/args-error.js';


class UsageError extends Error {}

/** What a command reads and writes besides its arguments and files. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Read by hash-password only. */
  stdin: AsyncIterable<Buffer | string>;
  /** For ${env:NAME} in configs and ca --passphrase-env. */
  env: NodeJS.ProcessEnv;
}

/** The process's own streams and environment: what the bin entry uses. */
export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdin: process.stdin,
    env: process.env,
  };
}

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
  strict: { type: 'boolean' },
  offline: { type: 'boolean' },
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

/**
 * Runs one command; resolves with the exit code: 0 done, 1 failed (a bad
 * config, a file not found ...), 2 a usage error. Errors are written to
 * io.stderr as one line; the promise does not reject. `start` resolves only
 * when the gateway cannot start; once it runs, it stays until a signal.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    io.stderr(`portcullis: ${(err as Error).message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

async function run(argv: string[], io: CliIo): Promise<number> {
  // The CA commands have flags of their own.
  if (argv[0] === 'ca') {
    const { runCaCommand } = await import('./ca/cli.js');
    return runCaCommand(argv.slice(1), { out: io.stdout, err: io.stderr, env: io.env });
  }
  if (argv[0] === 'config' || argv[0] === 'admin-token') {
    const { runConfigCommand, runAdminTokenCommand } = await import('./cli-config.js');
    return argv[0] === 'config' ? runConfigCommand(argv.slice(1), io) : runAdminTokenCommand(argv.slice(1), io);
  }
  if (argv[0] === 'fleet') {
    const { runFleetCommand } = await import('./cluster/fleet/cli.js');
    return runFleetCommand(argv.slice(1), { out: io.stdout, err: io.stderr, env: io.env });
  }
  if (argv[0] === 'audit') {
    const { runAuditCommand } = await import('./cli-audit.js');
    return runAuditCommand(argv.slice(1), io);
  }
  if (argv[0] === 'defense') {
    const { runDefenseCommand } = await import('./cli-defense.js');
    return runDefenseCommand(argv.slice(1), io);
  }
  const { values, positionals } = parse(argv);
  if (values.version) {
    io.stdout(`portcullis ${packageVersion()}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || command === 'help') {
    // `portcullis validate --help` (or `help validate`): that command's usage; the whole usage otherwise.
    const topic = command === 'help' ? rest[0] : command;
    io.stdout((topic !== undefined ? commandHelp(topic) : undefined) ?? HELP);
    return 0;
  }
  if (!command) {
    // Asked for nothing: the usage is the answer, but as an error (stderr, exit 2), so scripts notice.
    io.stderr(HELP);
    return 2;
  }
  const file = values.config ?? rest[0];
  if (rest.length > (values.config ? 0 : 1)) throw new UsageError(`unexpected argument "${rest.at(-1)}"`);
  switch (command) {
    case 'validate':
      if (!file) throw new UsageError('validate needs a config file: portcullis validate FILE');
      return validate(file, io, values.strict ?? false, values.offline ?? false);
    case 'start':
      if (!file) throw new UsageError('start needs a config file: portcullis start -c FILE');
      return start(file, values.watch ?? false, values['pid-file'] ?? defaultPidFile(file), values['demo-upstream'], io);
    case 'reload':
      return reload(values['pid-file'] ?? (file ? defaultPidFile(file) : undefined), io);
    case 'hash-password':
      if (file) throw new UsageError('hash-password reads the password from standard input, not from an argument (it would stay in shell history)');
      return printPasswordHash(io);
    case 'openapi-routes':
      if (!file) throw new UsageError('openapi-routes needs a spec file: portcullis openapi-routes SPEC --service NAME');
      if (!values.service) throw new UsageError('openapi-routes needs --service NAME: the service the routes proxy to');
      io.stdout(generateRoutes(readSpec(file), { specFile: file, service: values.service, auth: values.auth ?? 'key-auth' }));
      return 0;
    case 'schema': {
      if (file) throw new UsageError('schema takes no argument: portcullis schema > portcullis.schema.json');
      const { configJsonSchema } = await import('./config/json-schema.js');
      const { policiesByName } = await import('./policies/index.js');
      io.stdout(`${JSON.stringify(configJsonSchema(policiesByName), null, 2)}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}" (commands: start, validate, reload, hash-password, openapi-routes, schema, ca, audit, config, admin-token, defense, fleet)`);
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
async function printPasswordHash(io: CliIo): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password === '') throw new UsageError('no password on standard input: printf %s "$PASSWORD" | portcullis hash-password');
  if (password.includes('\n')) throw new UsageError('the password is one line; standard input held several');
  io.stdout(`${await hashPassword(password)}\n`);
  return 0;
}

function validate(file: string, io: CliIo, strict: boolean, offline: boolean): number {
  // Silent, so nothing to write: no stdout stream (and its flush timer) for a logger that never writes.
  const { logger } = createLogger({ level: 'silent', destination: { write: () => {} } });
  const upstreams = new UpstreamRegistry(logger);
  const stores = new StoreRegistry(logger);
  const deps = { upstreams, stores, logger, version: 0, env: io.env };
  const result = offline ? loadConfig(file, { ...deps, offline: true }) : loadConfig(file, deps);
  if (!result.ok) {
    for (const issue of result.issues) io.stderr(formatIssue(issue) + '\n');
    return 1;
  }
  if (result.snapshot) {
    upstreams.discard(result.snapshot.services);
    stores.discard(result.snapshot.stores);
  }
  const config = 'config' in result ? result.config : result.snapshot.config;
  const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
  const counts = [count(config.listeners.length, 'listener'), count(config.services.length, 'service'), count(config.routes.length, 'route'), count(config.consumers.length, 'consumer')];
  for (const warning of result.warnings) io.stderr(`${warning.file}:${warning.line}: ${warning.path}: warning: ${warning.message}\n`);
  const warned = result.warnings.length > 0 ? `; ${count(result.warnings.length, 'warning')}` : '';
  if (strict && warned) {
    io.stderr(`${file}: ${count(result.warnings.length, 'warning')}, refused by --strict\n`);
    return 1;
  }
  if ('references' in result) {
    // Offline: name what the deployment must provide, each once, so CI output doubles as a checklist.
    const names = [...new Set(result.references.map((r) => `\${${r.kind}:${r.name}}`))];
    io.stdout(`${file}: valid offline (${counts.join(', ')}${warned}); not resolved: ${names.length > 0 ? names.join(', ') : 'no references'}\n`);
    if (result.skipped !== undefined) io.stdout(`${file}: cross-checks not run offline: they need a referenced value (${result.skipped})\n`);
    return 0;
  }
  io.stdout(`${file}: valid (${counts.join(', ')}${warned})\n`);
  return 0;
}

async function start(file: string, watch: boolean, pidFile: string, demo: string | undefined, io: CliIo): Promise<number> {
  // A worker of a node (gateway.workers above 1): the supervisor forked it with these same arguments.
  if (cluster.isWorker) return (await import('./cluster/workers/worker.js')).runWorker(file, io.env);
  if (demo !== undefined) {
    const address = parseListenAddress(demo);
    if (!address) throw new UsageError(`--demo-upstream expects host:port, got "${demo}"`);
    await startDemoUpstream(address.host, address.port).catch((err: unknown) => {
      throw new ListenError({ name: 'demo', address: demo, kind: 'the demo upstream' }, err);
    });
    io.stderr(`demo upstream on http://${demo}\n`);
  }
  // fleet.role: standalone, control plane or data plane (src/cluster/fleet/node.ts). A standalone node's
  // config is loaded once here: it says how many workers (docs/workers.md); one runs in this process.
  const role = fleetRoleOf(file, io.env);
  let source: SourceText | undefined;
  if (role === 'standalone') {
    const { loadNodeConfig } = await import('./cluster/workers/node-config.js');
    const loaded = loadNodeConfig(file, io.env);
    if (!loaded.ok) {
      for (const issue of loaded.issues) io.stderr(formatIssue(issue) + '\n');
      return 1;
    }
    if (loaded.config.workers > 1) return (await import('./cluster/workers/node.js')).superviseNode(file, loaded.config, watch, pidFile, io);
    source = loaded.config.source;
  }
  if (role === 'data_plane') {
    // Several workers: the supervisor is the node's one fleet client (src/cluster/workers/data-plane-node.ts).
    const code = await (await import('./cluster/workers/data-plane-node.js')).superviseDataPlane(file, pidFile, io);
    if (code !== undefined) return code;
  }
  let node: RunningNode;
  try {
    node = await startNode(file, watch, io.env, source);
  } catch (err) {
    if (err instanceof InvalidConfigError) {
      for (const issue of err.issues) io.stderr(formatIssue(issue) + '\n');
      return 1;
    }
    throw err;
  }
  const gateway = node.gateway;
  writeFileSync(pidFile, `${process.pid}\n`);
  for (const listener of gateway.listeners.values()) io.stderr(`portcullis listening on ${listener.url} (${listener.name})\n`);
  if (gateway.admin.url) io.stderr(`portcullis admin listener on ${gateway.admin.url} (/metrics, /livez, /readyz)\n`);
  if (node.fleetUrl) io.stderr(`portcullis control plane on ${node.fleetUrl} (mTLS, for data planes)\n`);

  const statusFile = `${pidFile}.reload`;
  process.on('SIGHUP', () => {
    void node.reload().then((result) => writeReloadStatus(statusFile, result));
  });
  // Node starts its inspector on SIGUSR1 unless a handler is installed: this one replaces it.
  process.on('SIGUSR1', () => gateway.telemetry.sinks?.reopen());
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      io.stderr(`${signal} again: exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    io.stderr(`${signal}: finishing in-flight requests\n`);
    void node.shutdown().then(() => {
      rmSync(pidFile, { force: true });
      rmSync(statusFile, { force: true });
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return new Promise<number>(() => {}); // runs until a signal
}

async function reload(pidFile: string | undefined, io: CliIo): Promise<number> {
  if (!pidFile) throw new UsageError('reload needs the config file the gateway runs (-c FILE) or --pid-file');
  if (!existsSync(pidFile)) throw new UsageError(`no running gateway found (${pidFile} does not exist)`);
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new UsageError(`${pidFile} holds no process id`);
  // After a SIGKILL the pid file stays, and the pid may now belong to anything: signal only a gateway.
  const what = processKind(pid);
  if (what === 'gone') throw new UsageError(`the gateway (pid ${pid}) is not running; ${pidFile} is stale`);
  if (what === 'other') throw new UsageError(`pid ${pid} (from ${pidFile}) is not a portcullis gateway, not signalled; ${pidFile} is stale`);
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
      io.stdout(`reloaded: config version ${status.version}\n`);
      return 0;
    }
    io.stderr('reload refused; the running config keeps serving:\n');
    for (const issue of status.issues ?? []) io.stderr(formatIssue(issue) + '\n');
    return 1;
  }
  io.stderr(`sent SIGHUP to ${pid}, but it did not report back within 15s\n`);
  return 1;
}

/**
 * What runs as pid, by its command line (/proc/PID/cmdline): a gateway is
 * `node …/cli.js start …`, `node …/cli.ts start …` or `portcullis start …`.
 * 'unknown' where there is no /proc (macOS): the pid is then trusted as before.
 */
function processKind(pid: number): 'gateway' | 'other' | 'gone' | 'unknown' {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return existsSync('/proc/self/cmdline') ? 'gone' : 'unknown';
  }
  const args = cmdline.split('\0');
  const program = args.some((arg) => /(^|\/)(portcullis|cli\.[cm]?[jt]s)$/.test(arg));
  return program && args.includes('start') ? 'gateway' : 'other';
}

/** True when this module is the program node was asked to run (directly, through tsx, or an npm bin symlink). */
function isEntry(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
