/**
 * What the CRS engine does on one request, for profiling: runs one of the
 * micro benchmark's requests in a loop (under `node --cpu-prof` for where the
 * time goes) and, with --count, how many rule links were evaluated, on how many
 * values, how many transformations and operator calls ran (per request).
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/waf-crs-profile.ts get 3000
 *   node --import tsx bench/waf-crs-profile.ts fresh 200 --count
 *
 * Requests: get, fresh (the GET with values never seen), json, hostile.
 */
import waf from '../src/policies/waf/index.js';
import { CrsTransaction } from '../src/policies/waf/crs/index.js';
import type { Rule } from '../src/policies/waf/crs/model.js';
import { compilePolicy, requestContext, type FakeRequest } from '../test/helpers/policy.js';
import { freshGet as fresh, get, hostile, post as json } from './lib/waf-crs-requests.js';

const [kind = 'get', n = '2000', ...flags] = process.argv.slice(2);
const count = flags.includes('--count');


const requests: Record<string, () => FakeRequest> = { get: () => get, fresh, json: () => json, hostile: () => hostile };
const make = requests[kind];
if (!make) throw new Error(`request kind: ${Object.keys(requests).join(', ')}`);

const counts = new Map<string, number>();
const bump = (k: string, by = 1): void => void counts.set(k, (counts.get(k) ?? 0) + by);
if (count) {
  // counting wrappers on the engine's (TypeScript-private) methods: what a request makes it do
  const proto = CrsTransaction.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of ['evaluate', 'evaluateLink', 'transformed', 'literalHits', 'anyValueAllows', 'chainHits', 'rawFacts', 'isSecret', 'values', 'facts']) {
    const original = proto[name];
    if (!original) continue;
    proto[name] = function (this: unknown, ...a: unknown[]) {
      bump(name);
      if (name === 'evaluateLink') {
        const rule = a[0] as Rule;
        const op = rule.operator;
        const wrapped = op as unknown as { __counted?: boolean; match: (v: string, r: unknown) => boolean };
        if (!wrapped.__counted) {
          const m = wrapped.match;
          wrapped.match = (v, r) => {
            bump(`op ${op.name}`);
            bump(`op chars`, v.length);
            return m(v, r);
          };
          wrapped.__counted = true;
        }
      }
      return original.apply(this, a);
    };
  }
}

const crs = compilePolicy(waf, { engine: 'crs', body: { max_size: '128KiB' } });
const iterations = Number(n);
async function once(): Promise<void> {
  const ctx = requestContext(make!());
  const r = crs.onRequest!(ctx);
  if (r instanceof Promise) await r;
}
for (let i = 0; i < Math.min(200, iterations); i++) await once();
counts.clear();
const start = process.cpuUsage();
for (let i = 0; i < iterations; i++) await once();
const used = process.cpuUsage(start);
console.log(`${kind}: ${((used.user + used.system) / iterations).toFixed(1)} µs CPU per request (${iterations} requests, harness included)`);
if (count) for (const [k, v] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`  ${k}: ${(v / iterations).toFixed(1)} per request`);
