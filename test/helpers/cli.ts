/**
 * Runs the portcullis CLI: in-process through its main(argv, io) (cli(), for
 * what a command prints and the code it returns), or as a user would, in a
 * child process (runCli, startCli: for exit codes, signals and start).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = ['--import', 'tsx', 'src/cli.ts'];

/**
 * `portcullis start` runs one worker per core by default (gateway.workers:
 * auto); these helpers run one, as the tests written for one process expect,
 * unless a test's env asks otherwise (test/e2e/workers-*.test.ts run several).
 */
function withWorkers(env: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  return { PORTCULLIS_WORKERS: '1', ...(env ?? process.env) };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs one command in this process: what it writes to stdout and stderr, and
 * the exit code the bin would set. No process start (~1 s each on 2 cores).
 * Not for `start` of a gateway that comes up: it would run until a signal.
 */
export async function cli(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    stdin: Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)]),
    env: options.env ?? process.env,
  });
  return { code, stdout, stderr };
}

/** Runs the CLI in a child process, as a user would. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, env: withWorkers(options.env) });
    let stdout = '';
    let stderr = '';
    if (options.input !== undefined) child.stdin.end(options.input);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`portcullis ${args.join(' ')} did not finish in time:\n${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface RunningCli {
  child: ChildProcess;
  output(): string;
  /** Resolves with stderr+stdout once `text` has appeared. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

/** Starts a long-running command (start) and lets the test watch its output (stderr only, when `stdout` is a file descriptor it writes to). */
export function startCli(args: string[], options: { env?: NodeJS.ProcessEnv; stdout?: number } = {}): RunningCli {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, env: withWorkers(options.env), stdio: ['pipe', options.stdout ?? 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    waitFor(text, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      return new Promise((resolve, reject) => {
        const check = () => {
          if (typeof text === 'string' ? output.includes(text) : text.test(output)) resolve(output);
          else if (Date.now() > deadline || child.exitCode !== null) reject(new Error(`did not see ${String(text)} in:\n${output}`));
          else setTimeout(check, 25);
        };
        check();
      });
    },
  };
}

/** The supervisor's worker processes, by /proc (Linux): children whose command line runs the CLI. */
export function childCliPids(supervisor: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === supervisor && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('cli.ts')) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** The status of a GET on a connection of its own to a node started here (0 when it failed or went unanswered for 60 s). */
export function statusOf(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}
