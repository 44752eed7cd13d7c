/**
 * The one test entry: imports every *.test.ts under src/ and test/ so the
 * whole suite runs in one process (one process per file costs ~1.4 s each).
 *
 * No test starts until every file is imported. node:test starts the first
 * registered test as soon as this module awaits, so without the gate the early
 * files' tests ran while the rest of the suite was still being loaded and
 * evaluated on the same thread: the event loop was blocked for long stretches
 * and timing tests (bandwidth-limit's download, ±15%) measured the loader,
 * not the gateway (146-187 KiB/s for 256).
 */
import { readdirSync } from 'node:fs';
import { before } from 'node:test';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const only = process.env.TEST_ONLY; // a substring of the paths to run, for working on one area

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
  .filter((f) => !only || relative(root, f).includes(only))
  .sort();
let done!: () => void;
let failed!: (error: Error) => void;
const allLoaded = new Promise<void>((resolve, reject) => {
  done = resolve;
  failed = reject;
});
before(() => allLoaded); // a root hook: runs before the first test, so it holds every test back
try {
  for (const file of files) await import(pathToFileURL(file).href);
  done();
} catch (error) {
  failed(error instanceof Error ? error : new Error(String(error))); // fail the hook rather than leave it waiting
  throw error;
}
