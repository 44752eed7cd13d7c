/**
 * The node flags a worker starts with: the supervisor's own (node:cluster's
 * default), plus a larger young generation unless the operator chose one.
 *
 * Why: a request through the chain leaves ~23 KB of short-lived objects.
 * With V8's default 16 MiB semi-space a worker scavenges ~2.4 times per
 * 1,000 requests and promotes what is still in flight at each scavenge;
 * with 32 MiB it scavenges ~1.4 times, and a worker's CPU per request fell
 * 3-8% (bench:workers --flags=--max-semi-space-size=32 and bench/ab.ts,
 * docs/performance.md), while V8's new space may grow to 64 MiB
 * instead of 32 MiB per worker. The bare
 * Node proxy gains nothing from it (it got 4-13% dearer), so the benchmarks
 * run it without.
 */
export const YOUNG_GENERATION_FLAG = '--max-semi-space-size=32';

/** The supervisor's execArgv with the young-generation flag added, unless execArgv or NODE_OPTIONS already sizes it. */
export function workerExecArgv(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const chosen = (arg: string) => /^--max[-_]semi[-_]space[-_]size(=|$)/.test(arg);
  if (execArgv.some(chosen) || (nodeOptions ?? '').split(/\s+/).some(chosen)) return [...execArgv];
  return [...execArgv, YOUNG_GENERATION_FLAG];
}
