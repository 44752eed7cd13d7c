/**
 * The CRS engine of two source trees side by side in one process (engine crs,
 * paranoia 1): µs of process CPU per request for waf-crs-micro.ts's requests,
 * in interleaved rounds so that the machine's load falls on both alike. For
 * before/after figures of a change on a shared machine.
 *
 *   node --expose-gc --import tsx bench/waf-crs-ab.ts --base /tmp/old-tree [--rounds 5] [--iterations 300]
 *
 * The base tree needs its own node_modules (a symlink does).
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PolicyInstance } from '../src/pipeline/policy.js';
import type { FakeRequest } from '../test/helpers/policy.js';
import { freshGet as fresh, get, hostile, post as json } from './lib/waf-crs-requests.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const base = resolve(opt('--base', '/tmp/crsfast7-base'));
const rounds = Number(opt('--rounds', '5'));
const iterations = Number(opt('--iterations', '300'));
const here = resolve(import.meta.dirname, '..');

interface Tree {
  readonly name: string;
  readonly instance: PolicyInstance;
  readonly requestContext: (r: FakeRequest) => Parameters<NonNullable<PolicyInstance['onRequest']>>[0];
}

async function tree(name: string, dir: string): Promise<Tree> {
  const waf = (await import(pathToFileURL(`${dir}/src/policies/waf/index.ts`).href)) as { default: unknown };
  const helpers = (await import(pathToFileURL(`${dir}/test/helpers/policy.ts`).href)) as {
    compilePolicy: (d: unknown, c: Record<string, unknown>) => PolicyInstance;
    requestContext: Tree['requestContext'];
  };
  return { name, instance: helpers.compilePolicy(waf.default, { engine: 'crs', body: { max_size: '128KiB' } }), requestContext: helpers.requestContext };
}


async function measure(t: Tree, make: () => FakeRequest, n: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const r = t.instance.onRequest!(t.requestContext(make()));
    if (r instanceof Promise) await r;
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

const trees = [await tree('before', base), await tree('after', here)];
console.log(`node ${process.version}; before ${base}, after ${here}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const rows: [string, () => FakeRequest, number][] = [
  ['GET, 5 query args, browser headers', () => get, iterations],
  ['GET, values unseen before', fresh, iterations],
  [`POST, ${Buffer.byteLength(json.body!)} B JSON`, () => json, iterations],
  ['POST, hostile 64 KB punctuation', () => hostile, Math.max(5, Math.floor(iterations / 30))],
];
console.log('| request (crs, paranoia 1) | before µs (median of rounds) | after µs | after/before |');
console.log('|---|---:|---:|---:|');
for (const [label, make, n] of rows) {
  for (const t of trees) await measure(t, make, Math.min(n, 100)); // warm
  const results = trees.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    global.gc?.();
    for (let k = 0; k < trees.length; k++) {
      const which = r % 2 === 0 ? k : trees.length - 1 - k;
      results[which]!.push(await measure(trees[which]!, make, n));
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const [b, a] = results.map(median) as [number, number];
  const fmt = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : us.toFixed(1));
  console.log(`| ${label} | ${fmt(b)} | ${fmt(a)} | ${(a / b).toFixed(2)} |`);
}
console.log(`load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
