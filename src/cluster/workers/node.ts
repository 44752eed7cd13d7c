/**
 * `portcullis start` with several workers: the supervisor's process as the
 * CLI runs it, with the same face as one gateway process (the pid file,
 * the reload status file `portcullis reload` reads, the lines on stderr, the
 * signals), so that an operator, a service manager or a script cannot tell
 * the difference except by the workers in `ps`.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { writeReloadStatus } from '../../lib/reload-status.js';
import { formatIssue } from '../../config/errors.js';
import { createLogger } from '../../telemetry/logger.js';
import type { NodeConfig } from './node-config.js';
import { listenIssues } from '../../server/listen-check.js';
import { Supervisor, type NodeReloadResult } from './supervisor.js';
import type { Logger } from 'pino';

export interface NodeIo {
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** What a node driven from elsewhere (a data plane of workers, data-plane-node.ts) does differently. */
export interface NodeHooks {
  /** Once every worker serves the first time. */
  serving(supervisor: Supervisor, logger: Logger): void;
  /** SIGHUP, instead of re-reading the file. */
  reload(supervisor: Supervisor): Promise<NodeReloadResult>;
  /** Before the workers drain (SIGTERM, SIGINT). */
  stopping(): Promise<void>;
}

/** Runs the node until a signal ends it; resolves with an exit code only when its workers could not start. */
export function superviseNode(file: string, config: NodeConfig, watch: boolean, pidFile: string, io: NodeIo, hooks?: NodeHooks): Promise<number> {
  const { logger, flush } = createLogger();
  for (const w of config.warnings) logger.warn({ file: w.file, line: w.line, path: w.path, config_warning: true }, `${w.path}: ${w.message}`);
  return new Promise<number>((resolve) => {
    const statusFile = `${pidFile}.reload`;
    const supervisor = new Supervisor({
      configFile: file,
      config,
      env: io.env,
      logger,
      watch: watch || config.watch,
      onReady: (ready) => {
        writeFileSync(pidFile, `${process.pid}\n`);
        logger.info({ workers: supervisor.workers, version: ready.version, stdout: supervisor.stdout }, 'every worker is serving');
        for (const listener of ready.listeners) io.stderr(`portcullis listening on ${listener.url} (${listener.name})\n`);
        if (ready.admin) io.stderr(`portcullis admin listener on ${ready.admin} (/metrics, /livez, /readyz)\n`);
        io.stderr(`portcullis: ${supervisor.workers} workers\n`);
        hooks?.serving(supervisor, logger);
      },
      onStartFailed: (message, issues) => {
        if (issues) for (const issue of issues) io.stderr(formatIssue(issue) + '\n');
        else io.stderr(`portcullis: ${message}\n`);
        supervisor.kill();
        flush();
        resolve(1);
      },
    });
    process.on('SIGHUP', () => {
      void (hooks ? hooks.reload(supervisor) : supervisor.reload({ kind: 'signal', signal: 'SIGHUP' })).then((result) => writeReloadStatus(statusFile, result));
    });
    // Node starts its inspector on SIGUSR1 unless a handler is installed: this one replaces it.
    process.on('SIGUSR1', () => supervisor.reopen());
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        io.stderr(`${signal} again: exiting now\n`);
        supervisor.kill();
        process.exit(1);
      }
      stopping = true;
      io.stderr(`${signal}: finishing in-flight requests\n`);
      const before = hooks ? hooks.stopping().catch(() => {}) : Promise.resolve();
      void before.then(() => supervisor.shutdown()).then(() => {
        rmSync(pidFile, { force: true });
        rmSync(statusFile, { force: true });
        logger.info('stopped');
        flush();
        process.exit(0);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    // A listener that cannot be bound (a port another process holds) is said with its place in the file
    // before any worker is forked, rather than by the first worker that fails.
    void listenIssues(config.listen, config.source, { held: [] }).then((issues) => {
      if (issues.length === 0) return supervisor.start();
      for (const issue of issues) io.stderr(formatIssue(issue) + '\n');
      flush();
      resolve(1);
    });
  });
}
