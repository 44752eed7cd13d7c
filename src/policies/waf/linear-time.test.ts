/**
 * Linear time: every detector and decoder, and one value's whole scan, fed
 * adversarial inputs (each detector's delimiters, separators, quotes and
 * nesting repeated; see test/helpers/waf-adversarial.ts) at 4, 8, 16 and
 * 32 KB. The work must grow with the size, not with its square: each size is
 * run as many times as makes 32 KB in all, so linear work costs the same
 * CPU time at every size and quadratic work 8× more at 32 KB than at 4 KB.
 * (Half the sizes of the bench, bench/waf-worst-case.ts, for half the time:
 * the ratio quadratic work shows is the same 8×, and the test still fails
 * against the quadratic detectors of 2ecdf5f.)
 *
 * No absolute timings: the assertion compares CPU time inside one run, with
 * generous slack (32 KB may cost up to twice as much per KB as 4 KB, i.e. up
 * to 16× the time for 8× the input, where quadratic work is 64×, and the cost
 * per KB must rise at two of the three doublings). A pair over the line is
 * measured again, more carefully, before it counts, so a busy machine does
 * not fail the test. The µs/KB figures are
 * bench/waf-worst-case.ts's business.
 *
 * Held here: issue 10 item 2 (detectTemplate() searched the rest of the value
 * for a closer from every opener; commandAt() rescanned the blanks after
 * every separator), and the class.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GENERATORS, WORKLOADS, perKb, type Generator, type Workload } from '../../../test/helpers/waf-adversarial.js';

/** The sizes measured, smallest to largest (×8 in all). */
const SIZES_KB: readonly number[] = [4, 8, 16, 32];

/** 32 KB may cost this much more per KB than 4 KB (2 = 16× the time for 8× the input; quadratic is 8 here, 64× in time). */
const SLACK = 2;

/** A doubling of the size that raised the cost per KB by more than this counts as a rise. */
const RISE = 1.2;

/**
 * Below this many µs per KB at the largest size the work is too small to measure against timer and scheduler noise (a
 * generator a workload exits on at once reads 0.0 / 0.0 / 0.0 / 0.0 with a ratio of 2), and harmless: even
 * quadratic, it would cost less than the request's parsing at the body limit.
 */
const NOISE_FLOOR_US_PER_KB = 0.5;

/**
 * The cost per KB at the largest size over that at the smallest, and whether it grew: over SLACK, and rising at two doublings of the
 * three at least. Quadratic work rises at each (×2); a one-off step, such as V8 allocating a large two-byte string
 * in its large-object space, rises at one only and is not the work growing with the size.
 */
function growth(workload: Workload, generator: Generator, samples: number): { grows: boolean; ratio: number; figures: number[] } {
  const figures = perKb(workload, generator, SIZES_KB, samples);
  const ratio = figures[figures.length - 1]! / Math.max(figures[0]!, 1e-3);
  let rises = 0;
  for (let k = 1; k < figures.length; k++) if (figures[k]! > RISE * figures[k - 1]!) rises++;
  return { grows: figures[figures.length - 1]! >= NOISE_FLOOR_US_PER_KB && ratio > SLACK && rises >= 2, ratio, figures };
}

/** The pairs whose cost per KB grows with the size, each confirmed by a second, longer measurement. */
function superlinear(workload: Workload): string[] {
  const failures: string[] = [];
  for (const generator of GENERATORS) {
    let { grows, ratio, figures } = growth(workload, generator, 2);
    if (grows) ({ grows, ratio, figures } = growth(workload, generator, 5));
    if (grows) failures.push(`${generator.name}: ${figures.map((f) => f.toFixed(1)).join(' / ')} µs per KB at ${SIZES_KB.join(' / ')} KB (×${ratio.toFixed(1)})`);
  }
  return failures;
}

describe('waf: every detector and decoder takes time linear in the value on adversarial inputs', () => {
  for (const workload of WORKLOADS) {
    it(workload.name, () => {
      assert.deepEqual(superlinear(workload), [], `${workload.name}: work grows faster than the input`);
    });
  }
});
