/**
 * The config's `functions:` compiled for a snapshot, and the function
 * runtimes kept across snapshots: a reload that leaves a function's settings
 * and compiled code unchanged reuses its runtime (warm pool, health state);
 * a changed one gets a new runtime, swapped in with the snapshot, and the
 * old one is closed once the gateway commits (in-flight calls finish on it:
 * each call holds its own sandbox).
 */
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { ConfigPath } from '../config/errors.js';
import type { FunctionConfig } from '../config/functions.js';
import type { FunctionTable } from '../pipeline/policy.js';
import type { Stores } from '../stores/stores.js';
import { checkerEngine, renewCheckerIfGrown } from './checker.js';
import { FunctionRuntime } from './runtime.js';
import { Sandbox } from './sandbox.js';
import { DEFAULT_THREADS, ThreadPool } from './thread-pool.js';
import { compileSource, SourceError } from './source.js';

export class CompiledFunctions implements FunctionTable {
  constructor(readonly byName: ReadonlyMap<string, FunctionRuntime>) {}

  get names(): string[] {
    return [...this.byName.keys()];
  }

  get(name: string): FunctionRuntime | undefined {
    return this.byName.get(name);
  }
}

type Report = (path: ConfigPath, message: string) => void;

export class FunctionHost {
  private running = new Map<string, { key: string; runtime: FunctionRuntime }>();
  /** The worker threads every function's calls run on (made on first use, sized by the config). */
  readonly threads: ThreadPool;

  constructor(private readonly logger: Logger) {
    this.threads = new ThreadPool(DEFAULT_THREADS, (level, message, data) => logger[level](data ?? {}, message));
  }

  /**
   * Compiles every function (TypeScript or JavaScript, errors with file and
   * line) and checks in a sandbox that it evaluates and exports a handler;
   * nothing running changes until commit().
   */
  prepare(configs: readonly FunctionConfig[], configFile: string, stores: Stores, report: Report, threads = DEFAULT_THREADS): CompiledFunctions {
    // Applied at prepare, not commit: a size is no state a refused config could leave wrong (threads only start on use).
    this.threads.resize(threads);
    const out = new Map<string, FunctionRuntime>();
    const baseDir = dirname(resolve(configFile));
    configs.forEach((config, i) => {
      const file = resolve(baseDir, config.file);
      let source;
      try {
        source = compileSource(file);
      } catch (err) {
        report(['functions', i, 'file'], err instanceof SourceError ? err.message : (err as Error).message);
        return;
      }
      const problem = checkModule(source);
      if (problem) {
        report(['functions', i, 'file'], `${config.file}: ${problem}`);
        return;
      }
      const key = JSON.stringify(config) + source.digest;
      const existing = this.running.get(config.name);
      out.set(config.name, existing?.key === key ? existing.runtime : new FunctionRuntime(config, source, stores, this.logger, this.threads));
    });
    return new CompiledFunctions(out);
  }

  /** Makes `next` current at start; closes the runtimes it no longer holds. */
  commit(next: CompiledFunctions): void {
    for (const runtime of this.retire(next)) runtime.close();
  }

  /**
   * Makes `next` current and returns the runtimes no longer used: the caller
   * closes them once the requests still on the old snapshot are done.
   */
  retire(next: CompiledFunctions): FunctionRuntime[] {
    const keep = new Set(next.byName.values());
    const retired: FunctionRuntime[] = [];
    for (const { runtime } of this.running.values()) if (!keep.has(runtime)) retired.push(runtime);
    const current = new Map<string, { key: string; runtime: FunctionRuntime }>();
    for (const [name, runtime] of next.byName) current.set(name, { key: JSON.stringify(runtime.config) + runtime.source.digest, runtime });
    this.running = current;
    return retired;
  }

  /** Closes the runtimes prepared for a snapshot that was never committed. */
  discard(prepared: CompiledFunctions): void {
    const live = new Set([...this.running.values()].map((r) => r.runtime));
    for (const runtime of prepared.byName.values()) if (!live.has(runtime)) runtime.close();
  }

  closeAll(): void {
    for (const { runtime } of this.running.values()) runtime.close();
    this.running.clear();
    this.threads.close();
  }
}

/** Evaluates the module once in a throwaway sandbox: a top-level throw or a missing handler is a config error. */
function checkModule(source: ReturnType<typeof compileSource>): string | undefined {
  let sandbox: Sandbox | undefined;
  try {
    sandbox = new Sandbox(checkerEngine(), source, { memoryBytes: CHECK_MEMORY, stackBytes: 256 * 1024, cpuMs: 1000 }, true);
    return sandbox.hasHandler() ? undefined : 'exports no handler (export default a function, or an object with a fetch method)';
  } catch (err) {
    return `fails to load: ${(err as Error).message}`;
  } finally {
    sandbox?.dispose();
    renewCheckerIfGrown(CHECK_RENEW);
  }
}

/** What a module's top level may use when checked at load; past it the load is refused. */
const CHECK_MEMORY = 64 * 1024 * 1024;
/** The checker engine grown past this is replaced (its memory is capped at checker.ts CHECKER_MAX_BYTES). */
const CHECK_RENEW = 16 * 1024 * 1024 + CHECK_MEMORY / 2;
