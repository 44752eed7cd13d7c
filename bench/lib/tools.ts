/** Finds the external programs the benchmark needs, or says how to get them. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { spawnSync } from 'node:child_process';

// nginx lives in /usr/sbin, which is not on every user's PATH.
const EXTRA_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin'];

export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function requireTool(name: string): string {
  const found = findTool(name);
  if (!found) {
    throw new Error(
      `${name} is not installed (looked in PATH and ${EXTRA_DIRS.join(', ')}). ` +
        `Install it with: sudo apt-get install -y ${name}   (or run .ci/install, which installs everything the benchmark needs)`,
    );
  }
  return found;
}

/** First line of a tool's version output, for the results file. */
export function toolVersion(path: string, args: string[]): string {
  const out = spawnSync(path, args, { encoding: 'utf8' });
  const text = `${out.stdout ?? ''}${out.stderr ?? ''}`.trim();
  return text.split('\n')[0] ?? '';
}
