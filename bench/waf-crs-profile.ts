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

const [kind = 'get', n = '2000', ...flags] = process.argv.slice(2);
const count = flags.includes('--count');

const headers = {
  host: 'api.example.com',
  'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  accept: 'application/json, text/plain, */*',
  'accept-language': 'en-GB,en;q=0.9,de;q=0.8',
  'accept-encoding': 'gzip, deflate, br',
  referer: 'https://app.example.com/orders?tab=open&page=2',
  cookie: 'session=7f3c9a1e0b2d4c6f8a9b; theme=dark; _ga=GA1.2.1234567890.1700000000',
};
const get: FakeRequest = { method: 'GET', path: '/v1/customers/8421/orders', query: 'status=open&sort=-created_at&page=2&per_page=50&q=blue%20shoes', headers };
let serial = 0;
function fresh(): FakeRequest {
  serial++;
  const token = `${serial.toString(36)}${Math.random().toString(36).slice(2, 10)}`;
  return {
    ...get,
    query: `status=open&sort=-created_at&page=${serial % 50}&per_page=50&q=blue%20shoes%20${token}`,
    headers: { ...headers, cookie: `session=${token}; theme=dark; _ga=GA1.2.${serial}.1700000000`, 'x-request-id': token },
  };
}
const order = {
  customer_id: 8421,
  email: 'jane.oconnor@example.com',
  shipping: { name: 'Jane OConnor', line1: '221B Baker Street', line2: 'Flat 2', city: 'London', postcode: 'NW1 6XE', country: 'GB' },
  items: [
    { sku: 'SHOE-BLU-42', name: 'Blue running shoes', quantity: 1, price: 89.9 },
    { sku: 'SOCK-WHT-3P', name: 'White socks, 3 pack', quantity: 2, price: 9.5 },
  ],
  note: 'Please leave the parcel with the neighbour at number 19 if nobody answers, thanks',
  coupon: 'SPRING-2026',
  metadata: { source: 'web', campaign: 'spring_sale', ab_bucket: 'b', referrer: 'newsletter-2026-03' },
};
let text = JSON.stringify(order);
while (Buffer.byteLength(text) < 1024) text = JSON.stringify({ ...order, padding: 'x'.repeat(1024 - Buffer.byteLength(text)) });
const json: FakeRequest = { method: 'POST', path: '/v1/orders', headers: { ...headers, 'content-type': 'application/json' }, body: text };
const punct = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
let hostileValue = '';
for (let i = 0; i < 64 * 1024; i++) hostileValue += punct[Math.floor(Math.random() * punct.length)];
const hostile: FakeRequest = { method: 'POST', path: '/v1/notes', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ note: hostileValue }) };

const requests: Record<string, () => FakeRequest> = { get: () => get, fresh, json: () => json, hostile: () => hostile };
const make = requests[kind];
if (!make) throw new Error(`request kind: ${Object.keys(requests).join(', ')}`);

const counts = new Map<string, number>();
const bump = (k: string, by = 1): void => void counts.set(k, (counts.get(k) ?? 0) + by);
if (count) {
  // counting wrappers on the engine's (TypeScript-private) methods: what a request makes it do
  const proto = CrsTransaction.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of ['evaluate', 'evaluateLink', 'transformed', 'literalHits', 'anyValueAllows', 'isSecret', 'values']) {
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
