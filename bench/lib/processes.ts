/**
 * Every process the benchmark starts goes through here, so that all of them
 * are stopped at the end: on success, on error, and on Ctrl-C or SIGTERM.
 * Only processes started here are signalled, by their own pid.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<string>;
  /** The last lines the process wrote to stderr, for error messages. */
  stderrTail(): string;
}

export class Supervisor {
  private readonly running = new Set<Started>();
  private readonly cleanups: Array<() => void> = [];
  private stopping: Promise<void> | undefined;

  /** Stops everything on SIGINT / SIGTERM, then exits with the usual 128+n code. */
  installSignalHandlers(): void {
    const onSignal = (signal: NodeJS.Signals, code: number) => {
      process.stderr.write(`\nbench: ${signal}: stopping what it started\n`);
      void this.stopAll().finally(() => process.exit(code));
    };
    process.once('SIGINT', () => onSignal('SIGINT', 130));
    process.once('SIGTERM', () => onSignal('SIGTERM', 143));
    // Last resort if the event loop is gone (process.exit from elsewhere): no orphans.
    process.once('exit', () => {
      for (const p of this.running) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      for (const cleanup of this.cleanups.splice(0)) cleanup();
    });
  }

  /** Something synchronous to undo at the very end (temp dirs). */
  onCleanup(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  spawn(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): Started {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
    if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
    let tail = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-4000);
    });
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => {
        this.running.delete(started);
        resolve(signal ?? String(code));
      });
      // A process that could not start never emits "exit".
      child.once('error', (err) => {
        tail += `\n${err.message}`;
        this.running.delete(started);
        resolve(`error: ${err.message}`);
      });
    });
    const started: Started = { name, child, pid: child.pid, exited, stderrTail: () => tail.trim() };
    this.running.add(started);
    return started;
  }

  /** Asks one process to stop (SIGTERM), and kills it if it has not after graceMs. */
  async stop(p: Started, graceMs = 5000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running.has(p)) return;
    try {
      process.kill(p.pid, signal);
    } catch {
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
        resolve();
      }, graceMs);
    });
    await Promise.race([p.exited, killed]);
    clearTimeout(timer);
    await p.exited;
  }

  stopAll(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all([...this.running].map((p) => this.stop(p)));
      for (const cleanup of this.cleanups.splice(0)) cleanup();
    })();
    return this.stopping;
  }
}
