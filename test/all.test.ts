/**
 * The one test entry: imports every *.test.ts under src/ and test/ so the
 * whole suite runs in one process (one process per file costs ~1.4 s each).
 *
 * Files run side by side, TEST_CONCURRENCY of them at a time (default 2): most
 * of a test's time is waiting on sockets, child processes and timers. Two at a
 * time took the suite from 469 to 391 s on this 2-core machine, every test
 * passing; four at a time on a machine loaded by other work failed a handful of
 * time-bound tests. (Until the harness fix below every file had in fact run one
 * after another, all in the first file's suite.) Within a file tests run one
 * after another, as each file was written for. Files that measure time or load
 * the whole process (EXCLUSIVE below) run after the rest, one at a time, with
 * nothing beside them.
 *
 * No test starts until every file is imported. Loading and evaluating a file
 * blocks the event loop, and tests running meanwhile measured the loader, not
 * the gateway (bandwidth-limit's download read 146-187 KiB/s for 256).
 *
 * Files are imported one at a time with their top-level describe/it/before/after
 * calls recorded (test/harness/node-test.ts says why), then replayed inside the
 * file's own suite: that is what puts each file in its phase.
 */
import { readdirSync } from 'node:fs';
import { register } from 'node:module';
import { describe } from 'node:test';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { recordTopLevel } from './harness/node-test.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// Substrings of the paths to run, comma-separated, for working on one area; and of paths to leave out.
const only = process.env.TEST_ONLY?.split(',').filter((part) => part !== '');
const except = process.env.TEST_EXCEPT?.split(',').filter((part) => part !== '') ?? [];

function find(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...find(path));
    else if (entry.name.endsWith('.test.ts') && path !== fileURLToPath(import.meta.url)) out.push(path);
  }
  return out;
}

const files = [...find(join(root, 'src')), ...find(join(root, 'test'))]
  .filter((f) => !only || only.some((part) => relative(root, f).includes(part)))
  .filter((f) => !except.some((part) => relative(root, f).includes(part)))
  .sort();
/**
 * Files that run alone, after the rest: they assert on time (throughput within
 * 15%, equal cost, linear time) or block the event loop on purpose (lag
 * shedding), so a neighbour would change what they measure or stall with them.
 * The fleet, store-outage and concurrency-limit tests must hold on a busy
 * machine, as a loaded node must: they run side by side.
 */
const EXCLUSIVE = [
  'src/policies/bandwidth-limit/',
  'src/policies/basic-auth/password-cost',
  'src/policies/waf/linear-time',
  'src/policies/waf/libinjection/linear-time',
  'test/e2e/waf-linear-time',
  'test/e2e/overload',
  'src/stores/redis.test', // blocks the event loop past a store timeout on purpose
  'test/e2e/workers-node', // five processes and their load take both cores (workers-node-wide too)
  'test/e2e/testssl', // a scanner whose probes time out on a busy machine report as findings (pre_128cipher seen once)
  // Loading the Core Rule Set compiles some 460 rules synchronously (seconds on a busy machine): a stall every
  // file beside it shared (a 5 s client timer fired late in tls-listener).
  'src/policies/waf/crs/',
  'test/e2e/crs-regression',
  'test/e2e/workers-shared-state', // two workers' processes; a breaker's news must cross them within the test's wait
  'test/e2e/workers-access-log', // three processes and their load
  'test/e2e/workers-leases', // three processes and their load
  'test/e2e/workers-orphaned', // three processes, one SIGKILLed, and their traffic
  'test/e2e/workers-slow-stdout', // three processes, load, and a stdout reader that stalls for seconds
  'test/e2e/workers-leases-evict', // three processes and a key spray
  'test/e2e/workers-defense-ratio', // three processes
  'test/e2e/workers-reload-listen', // three processes
  'test/e2e/functions-sandbox', // endless loops, memory bombs and a stuck thread take a core each until stopped
  'test/e2e/functions-threads', // stuck threads take a core each until the watchdog replaces them
  'test/lint/regex-linearity', // recheck's checker child takes a core for seconds: alone, its budget is not shared with other files
];
/** The longest files start first, so the side-by-side phase does not end waiting on one of them. */
const LONG_FIRST = ['test/e2e/package', 'src/stores/', 'test/e2e/cli', 'src/policies/jwt/', 'test/e2e/tls-rotation', 'src/ca/'];
const rank = (f: string) => {
  const i = LONG_FIRST.findIndex((p) => f.includes(p));
  return i < 0 ? LONG_FIRST.length : i;
};
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 2);
const relativeFiles = files.map((f) => relative(root, f));
const exclusive = relativeFiles.filter((f) => EXCLUSIVE.some((p) => f.startsWith(p)));
const sideBySide = relativeFiles.filter((f) => !exclusive.includes(f)).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

register('./harness/node-test-hooks.ts', import.meta.url, {
  data: {
    shimUrl: new URL('./harness/node-test.ts', import.meta.url).href,
    projectUrl: pathToFileURL(root).href,
  },
});
const recorded = new Map<string, Array<() => unknown>>();
for (const file of [...sideBySide, ...exclusive]) {
  const recorder = recordTopLevel();
  try {
    await import(pathToFileURL(join(root, file)).href);
  } finally {
    recorded.set(file, recorder.stop());
  }
  // A file whose calls were not recorded would land in another file's suite, or none, unseen.
  if (recorded.get(file)?.length === 0) throw new Error(`${file}: no top-level describe/it recorded (does it import node:test another way?)`);
}

/** One suite per file, holding the file's top-level tests, hooks and suites. */
function fileSuite(file: string): void {
  describe(file, { concurrency: 1 }, () => {
    for (const replay of recorded.get(file) ?? []) replay();
  });
}
describe('side by side', { concurrency }, () => {
  for (const file of sideBySide) fileSuite(file);
});
describe('alone', { concurrency: 1 }, () => {
  for (const file of exclusive) fileSuite(file);
});
