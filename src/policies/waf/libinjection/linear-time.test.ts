/**
 * Linear time for the libinjection port: detectSQLi and detectXSS fed
 * adversarial inputs at 4, 8, 16 and 32 KB (the waf's generators from
 * test/helpers/waf-adversarial.ts, plus libinjection's own delimiters:
 * quotes, comments, dollar-quoted strings, tags, attributes, entities).
 * Each size runs as many times as makes 32 KB in all, so linear work costs
 * the same CPU per KB at every size and quadratic work 8× more at 32 KB.
 *
 * No absolute timings (bench/libinjection.ts has them): the assertion
 * compares CPU time within one run, with the slack of
 * src/policies/waf/linear-time.test.ts (up to 2× per KB, rising at two of
 * three doublings, confirmed by a second, longer measurement). Runs alone
 * (EXCLUSIVE in test/all.test.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GENERATORS, perKb, type Generator, type Workload } from '../../../../test/helpers/waf-adversarial.js';
import { detectSQLi, detectXSS } from './index.js';

const SIZES_KB: readonly number[] = [4, 8, 16, 32];
const SLACK = 2;
const RISE = 1.2;
const NOISE_FLOOR_US_PER_KB = 0.5;

function repeat(name: string, unit: string, prefix = ''): Generator {
  return { name, make: (size) => prefix + unit.repeat(Math.ceil((size - prefix.length) / unit.length)).slice(0, size - prefix.length) };
}

/** What makes libinjection's scanners search: openers without closers, escapes, runs of operators, tags and attributes. */
const LIBINJECTION_GENERATORS: readonly Generator[] = [
  ...["'", '"', '`', "\\'", "''", '/*', '/**/ ', '/*!', '--', '-- \n', '#', '$$', '$a$', '$a', "q'[", "N'", "U&'", '@@', '[', '<', '<a ', '<a\0', '<!--', '<!', '<?', '<%', '-->', ']]>', '<![CDATA[', '<a href=&#', '<a href="x">', '<a x=1 ', '&#x6a', '&#', ' = ', 'or 1=1 ', '1,', '(', 'select '].map((u) => repeat(`unit ${JSON.stringify(u)}`, u)),
  repeat('comment opener then text', 'a ', '/*'),
  repeat('tag then attributes', ' x=1', '<a'),
  repeat('url attribute then entities', '&#0', '<a href='),
];

const WORKLOADS: readonly Workload[] = [
  { name: 'detectSQLi', run: (v) => detectSQLi(v) },
  { name: 'detectXSS', run: (v) => detectXSS(v) },
];

function growth(workload: Workload, generator: Generator, samples: number): { grows: boolean; ratio: number; figures: number[] } {
  const figures = perKb(workload, generator, SIZES_KB, samples);
  const ratio = figures[figures.length - 1]! / Math.max(figures[0]!, 1e-3);
  let rises = 0;
  for (let k = 1; k < figures.length; k++) if (figures[k]! > RISE * figures[k - 1]!) rises++;
  return { grows: figures[figures.length - 1]! >= NOISE_FLOOR_US_PER_KB && ratio > SLACK && rises >= 2, ratio, figures };
}

describe('libinjection port: work linear in the value on adversarial inputs', () => {
  for (const workload of WORKLOADS) {
    it(workload.name, () => {
      const failures: string[] = [];
      for (const generator of [...GENERATORS, ...LIBINJECTION_GENERATORS]) {
        let { grows, ratio, figures } = growth(workload, generator, 2);
        if (grows) ({ grows, ratio, figures } = growth(workload, generator, 5));
        if (grows) failures.push(`${generator.name}: ${figures.map((f) => f.toFixed(1)).join(' / ')} µs per KB at ${SIZES_KB.join(' / ')} KB (×${ratio.toFixed(1)})`);
      }
      assert.deepEqual(failures, [], `${workload.name}: work grows faster than the input`);
    });
  }
});
