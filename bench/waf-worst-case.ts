/**
 * Worst-case inputs for the waf: µs of process CPU per KB for each detector,
 * decoder and one value's whole scan, on each adversarial generator of
 * test/helpers/waf-adversarial.ts (delimiters, separators, quotes, nesting
 * repeated) at 8, 16, 32 and 64 KB; then the whole policy on a JSON body
 * and a header of the worst shapes, up to the default body.max_size.
 *
 *   node --import tsx bench/waf-worst-case.ts [--all] [--samples 3]
 *
 * Prints, per workload, its worst generators (all of them with --all): the
 * figures should be flat across the sizes (linear work); "growth" is the
 * 64 KB figure over the 8 KB one (quadratic work would be 8).
 * linear-time.test.ts asserts the growth; the figures belong here.
 */
import waf from '../src/policies/waf/index.js';
import { compilePolicy, requestContext, type FakeRequest } from '../test/helpers/policy.js';
import { GENERATORS, SIZES_KB, WORKLOADS, perKb } from '../test/helpers/waf-adversarial.js';

const args = process.argv.slice(2);
const all = args.includes('--all');
const samples = args.includes('--samples') ? Number(args[args.indexOf('--samples') + 1]) : 3;

const fmt = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1));

console.log(`node ${process.version}; µs of CPU per KB at ${SIZES_KB.join(' / ')} KB, best of ${samples}`);
console.log('');
console.log(`| workload | generator | ${SIZES_KB.map((kb) => `${kb} KB`).join(' | ')} | growth |`);
console.log(`|---|---|${SIZES_KB.map(() => '---:').join('|')}|---:|`);
let worstGrowth = { ratio: 0, where: '' };
for (const workload of WORKLOADS) {
  const rows: Array<{ generator: string; figures: number[]; ratio: number }> = [];
  for (const generator of GENERATORS) {
    const figures = perKb(workload, generator, SIZES_KB, samples);
    const ratio = figures[figures.length - 1]! / Math.max(figures[0]!, 1e-3);
    rows.push({ generator: generator.name, figures, ratio });
    if (ratio > worstGrowth.ratio && figures[0]! > 0.5) worstGrowth = { ratio, where: `${workload.name} / ${generator.name}` };
  }
  rows.sort((a, b) => b.figures[b.figures.length - 1]! - a.figures[a.figures.length - 1]!);
  for (const row of all ? rows : rows.slice(0, 3)) {
    console.log(`| ${workload.name} | ${row.generator} | ${row.figures.map(fmt).join(' | ')} | ${row.ratio.toFixed(2)} |`);
  }
}
console.log('');
console.log(`largest growth (8 → 64 KB, figures over 0.5 µs/KB): ${worstGrowth.ratio.toFixed(2)} at ${worstGrowth.where}`);

// The whole policy, as a request reaches it: a JSON body and a header of the shapes issue 10 reported.
const policy = compilePolicy(waf, {});
function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}
async function perRequest(request: FakeRequest, times: number): Promise<number> {
  const run = async () => {
    const result = policy.onRequest!(requestContext(request));
    if (result instanceof Promise) await result;
  };
  await run();
  let best = Infinity;
  for (let s = 0; s < samples; s++) {
    const start = cpuMicros();
    for (let t = 0; t < times; t++) await run();
    best = Math.min(best, (cpuMicros() - start) / times);
  }
  return best;
}

/** A JSON body of one string of `unit` repeated, `size` bytes in all (the default body.max_size is 128 KiB). */
function jsonOf(unit: string, encoded: number, size: number): FakeRequest {
  const body = JSON.stringify({ a: unit.repeat(Math.floor((size - 16) / encoded)) });
  return { method: 'POST', path: '/x', headers: { 'content-type': 'application/json' }, body };
}
const shapes: ReadonlyArray<readonly [string, (size: number) => FakeRequest]> = [
  ['JSON body, "{%" repeated', (size) => jsonOf('{%', 2, size)],
  ['JSON body, "\\n" repeated', (size) => jsonOf('\n', 2, size)],
  ['JSON body, "<a " repeated', (size) => jsonOf('<a ', 3, size)],
  ['JSON body, 199 "{%" then "%}", repeated', (size) => jsonOf('{%'.repeat(199) + '%}', 400, size)],
  ['User-Agent, "{%" repeated', (size) => ({ path: '/x', headers: { 'user-agent': '{%'.repeat(size / 2) } })],
];
const policySizes = [8, 16, 32, 64, 128];
console.log('');
console.log(`whole policy (onRequest), µs of CPU per KB at ${policySizes.join(' / ')} KB (the request is refused or passed either way)`);
console.log('');
console.log(`| request | ${policySizes.map((kb) => `${kb} KB`).join(' | ')} | ms at 128 KB |`);
console.log(`|---|${policySizes.map(() => '---:').join('|')}|---:|`);
for (const [label, make] of shapes) {
  const figures: number[] = [];
  for (const kb of policySizes) figures.push((await perRequest(make(kb * 1024), Math.max(1, 128 / kb))) / kb);
  console.log(`| ${label} | ${figures.map(fmt).join(' | ')} | ${((figures[figures.length - 1]! * 128) / 1000).toFixed(1)} |`);
}
