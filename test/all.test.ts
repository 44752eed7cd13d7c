/**
 * The one test entry: imports every *.test.ts under src/ and test/ so the
 * whole suite runs in one process (one process per file costs ~1.4 s each).
 */
import { readdirSync } from 'node:fs';
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
for (const file of files) await import(pathToFileURL(file).href);
