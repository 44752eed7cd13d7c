/**
 * The npm package as a user gets it: `npm pack` from a copy of the checkout
 * (its prepack builds dist/ there, so the checkout's own dist/ is never
 * rewritten under other tests), the tarball installed into an empty folder,
 * then `npx portcullis start` answering a request, and a program that imports
 * { Gateway } from 'portcullis', type-checked and run.
 *
 * One shortcut, said here: the tarball is installed with --ignore-scripts and
 * re2's native build is copied from the checkout's node_modules (same re2
 * version, same Node). re2's own install script would first try to download a
 * prebuilt binary from outside the npm registry, which this machine cannot
 * reach, then compile RE2 for a minute or two; a user's `npm install` does
 * that once. The dependencies come from the npm cache the checkout's `npm ci`
 * filled (--prefer-offline), so the install takes seconds.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { send } from '../helpers/gateway.js';
import { ROOT } from '../helpers/cli.js';

const PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
const env = { ...process.env, PATH, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A child process, awaited without blocking: npm pack and install take tens of
 * seconds, and a spawnSync held the one event loop every test file running
 * beside this one needs (their timers then fired before their sockets' data).
 */
function runAsync(cmd: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function run(cmd: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<RunResult> {
  const result = await runAsync(cmd, args, cwd, timeoutMs);
  assert.equal(result.status, 0, `${cmd} ${args.join(' ')} in ${cwd} failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** What is never part of the package's sources: dependencies, builds, benchmark results, git itself. */
const NOT_SOURCES = new Set(['node_modules', 'dist', '.git', '.bench']);

/**
 * The files git would commit (tracked, or untracked and not ignored), copied;
 * node_modules linked for the build. Outside a git checkout (the Node
 * version matrix tests a plain copy) the tree is copied less what is never a source.
 */
async function copyCheckout(to: string): Promise<void> {
  const listing = await runAsync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], ROOT);
  if (listing.status !== 0) {
    cpSync(ROOT, to, { recursive: true, filter: (src) => !NOT_SOURCES.has(relative(ROOT, src).split(sep)[0]!) });
  } else {
    for (const file of listing.stdout.split('\0').filter(Boolean)) {
      try {
        cpSync(join(ROOT, file), join(to, file));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // deleted but not yet committed
      }
    }
  }
  symlinkSync(join(ROOT, 'node_modules'), join(to, 'node_modules'));
}

/** A child in its own process group, so SIGTERM reaches the gateway behind npx too. */
function startDetached(cmd: string, args: string[], cwd: string) {
  const child: ChildProcess = spawn(cmd, args, { cwd, env, detached: true });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => output,
    stop: () => {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // the group has already gone
      }
    },
    waitFor(text: string, timeoutMs = 30_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      return new Promise((resolve, reject) => {
        const check = () => {
          if (output.includes(text)) resolve();
          else if (Date.now() > deadline || child.exitCode !== null) reject(new Error(`did not see ${text} in:\n${output}`));
          else setTimeout(check, 25);
        };
        check();
      });
    },
  };
}

describe('the npm package, packed and installed into an empty folder', () => {
  const work = mkdtempSync(join(tmpdir(), 'portcullis-pack-'));
  const app = join(work, 'app');
  let tarball = '';
  const running: Array<ReturnType<typeof startDetached>> = [];

  before(async () => {
    const source = join(work, 'source');
    mkdirSync(source);
    await copyCheckout(source);
    const packed = JSON.parse((await run('npm', ['pack', '--json', '--pack-destination', work], source, 240_000)).stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(work, packed[0]!.filename);
    const paths = packed[0]!.files.map((f) => f.path);
    assert.ok(paths.includes('dist/cli.js') && paths.includes('dist/index.d.ts'), 'the tarball holds the built CLI and the types');
    assert.ok(!paths.some((p) => p.startsWith('src/') || p.startsWith('test/') || p.endsWith('.test.js')), 'no sources or tests in the tarball');

    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--loglevel=error', tarball], app, 180_000);
    cpSync(join(ROOT, 'node_modules/re2/build'), join(app, 'node_modules/re2/build'), { recursive: true });
  });

  after(async () => {
    for (const r of running) r.stop();
    await Promise.all(running.map((r) => r.exited));
    rmSync(work, { recursive: true, force: true });
  });

  it('npx portcullis start -c FILE serves the quick start, and stops on SIGTERM', async () => {
    const [gatewayPort, demoPort] = [await freePort(), await freePort()];
    // The quick start config that ships in the package, on free ports.
    const yaml = readFileSync(join(app, 'node_modules/portcullis/examples/quickstart.yaml'), 'utf8')
      .replaceAll(':8080', `:${gatewayPort}`)
      .replaceAll(':9001', `:${demoPort}`);
    writeFileSync(join(app, 'portcullis.yaml'), yaml);

    const gateway = startDetached('npx', ['--no', 'portcullis', 'start', '-c', 'portcullis.yaml', '--demo-upstream', `127.0.0.1:${demoPort}`, '--pid-file', 'portcullis.pid'], app);
    running.push(gateway);
    await gateway.waitFor(`portcullis listening on http://127.0.0.1:${gatewayPort}`);

    const open = await send(`http://127.0.0.1:${gatewayPort}`, '/public');
    assert.equal(open.status, 200);
    const closed = await send(`http://127.0.0.1:${gatewayPort}`, '/api/orders');
    assert.equal(closed.status, 401);
    const keyed = await send(`http://127.0.0.1:${gatewayPort}`, '/api/orders', { headers: { 'x-api-key': 'demo-key-please-change' } });
    assert.equal(keyed.status, 200);
    assert.equal(keyed.json().headers['x-consumer-name'], 'alice');

    // SIGTERM to the gateway itself, as a service manager would send it: npx passes its exit code on.
    process.kill(Number(readFileSync(join(app, 'portcullis.pid'), 'utf8')), 'SIGTERM');
    assert.equal(await gateway.exited, 0);
    assert.match(gateway.output(), /SIGTERM: finishing in-flight requests/);
  });

  it('a program imports { Gateway } from "portcullis" with its types, starts it and is answered', async () => {
    const port = await freePort();
    writeFileSync(
      join(app, 'embedded.yaml'),
      [`listeners: [{ name: web, address: 127.0.0.1:${port}, protocol: http }]`, 'gateway: { health_path: /healthz }', 'routes: []', ''].join('\n'),
    );
    // The same program as TypeScript, checked against the package's own .d.ts files.
    const program = [
      "import { Gateway, InvalidConfigError, type GatewayOptions } from 'portcullis';",
      "const options: GatewayOptions = { configFile: 'embedded.yaml' };",
      'const gateway: Gateway = await Gateway.start(options);',
      'const url = [...gateway.listeners.values()][0]!.url;',
      "const res = await fetch(url + '/healthz');",
      "console.log('status', res.status, InvalidConfigError.name);",
      'await gateway.shutdown({ quiet: true });',
      '',
    ].join('\n');
    writeFileSync(join(app, 'embed.ts'), program);
    writeFileSync(join(app, 'embed.mjs'), program.replace(', type GatewayOptions', '').replace(': GatewayOptions', '').replace(': Gateway', '').replace('[0]!', '[0]'));
    // A wrong use beside it must be caught: the types are real, not `any`. One tsc run checks both.
    writeFileSync(join(app, 'wrong.ts'), "import { Gateway } from 'portcullis';\nawait Gateway.start({ config: 'x.yaml' });\n");
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const flags = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node'];
    const checked = await runAsync(process.execPath, [tsc, ...flags, '--typeRoots', join(ROOT, 'node_modules/@types'), 'embed.ts', 'wrong.ts'], app);
    const errors = checked.stdout.trim().split('\n');
    assert.equal(errors.length, 1, checked.stdout);
    assert.match(errors[0]!, /^wrong\.ts\(2,.*'config' does not exist in type 'GatewayOptions'/);

    const embedded = startDetached(process.execPath, ['embed.mjs'], app);
    running.push(embedded);
    assert.equal(await embedded.exited, 0, embedded.output());
    assert.match(embedded.output(), /status 200 InvalidConfigError/);
  });
});
