/**
 * The CRS engine's costs, without a server: µs of process CPU per request
 * (typical GET, the same GET with values never seen before, 1 KB JSON body) for engine crs, native and both at paranoia 1;
 * a hostile 64 KB value of random punctuation (ms); loading the rule set (ms,
 * heap and resident MB) and a reload with unchanged rules (ms).
 *
 *   node --expose-gc --import tsx bench/waf-crs-micro.ts [--iterations 3000]
 *
 * Timing belongs here, not in the pass/fail tests.
 */
import { loadavg } from 'node:os';
import waf from '../src/policies/waf/index.js';
import type { PolicyInstance } from '../src/pipeline/policy.js';
import { compilePolicy, requestContext, type FakeRequest } from '../test/helpers/policy.js';

const args = process.argv.slice(2);
const iterations = args.includes('--iterations') ? Number(args[args.indexOf('--iterations') + 1]) : 3000;

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
const post: FakeRequest = { method: 'POST', path: '/v1/orders', headers: { ...headers, 'content-type': 'application/json' }, body: text };
const punct = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
let hostileValue = '';
for (let i = 0; i < 64 * 1024; i++) hostileValue += punct[Math.floor(Math.random() * punct.length)];
const hostile: FakeRequest = { method: 'POST', path: '/v1/notes', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ note: hostileValue }) };

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * The same GET with a value of its own per request (search text, session cookie, request id): the engine remembers
 * values across requests (crs/memo.ts), and this is the figure for traffic whose values it has not seen.
 */
let serial = 0;
function freshGet(): FakeRequest {
  serial++;
  const token = `${serial.toString(36)}${Math.random().toString(36).slice(2, 10)}`;
  return {
    ...get,
    query: `status=open&sort=-created_at&page=${serial % 50}&per_page=50&q=blue%20shoes%20${token}`,
    headers: { ...headers, cookie: `session=${token}; theme=dark; _ga=GA1.2.${serial}.1700000000`, 'x-request-id': token },
  };
}

async function measure(request: FakeRequest | (() => FakeRequest), instance: PolicyInstance | undefined, n: number): Promise<number> {
  const run = async (): Promise<void> => {
    const ctx = requestContext(typeof request === 'function' ? request() : request);
    if (instance?.onRequest) {
      const result = instance.onRequest(ctx);
      if (result instanceof Promise) await result;
    }
  };
  for (let i = 0; i < Math.min(200, n); i++) await run();
  const start = cpuMicros();
  for (let i = 0; i < n; i++) await run();
  return (cpuMicros() - start) / n;
}

global.gc?.();
const mem0 = process.memoryUsage();
let t = performance.now();
const crs = compilePolicy(waf, { engine: 'crs', body: { max_size: '128KiB' } });
const loadMs = performance.now() - t;
global.gc?.();
const mem1 = process.memoryUsage();
const heapMb = (mem1.heapUsed - mem0.heapUsed) / 1e6;
// RE2's compiled programs live outside the JS heap: the resident set shows them
const rssMb = (mem1.rss - mem0.rss) / 1e6;
t = performance.now();
compilePolicy(waf, { engine: 'crs', body: { max_size: '128KiB' } });
const reloadMs = performance.now() - t;
const instances = { crs, native: compilePolicy(waf, { engine: 'native' }), both: compilePolicy(waf, { engine: 'both' }) };

console.log(`node ${process.version}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`rule set load ${loadMs.toFixed(0)} ms, heap +${heapMb.toFixed(1)} MB, rss +${rssMb.toFixed(1)} MB (run with --expose-gc for settled figures); reload unchanged ${reloadMs.toFixed(1)} ms`);
console.log('| request | engine | µs CPU per request (harness subtracted) |');
console.log('|---|---|---:|');
for (const [label, request, n] of [
  ['GET, 5 query args, browser headers', get, iterations],
  ['GET, as above, values unseen before', freshGet, iterations],
  [`POST, ${Buffer.byteLength(text)} B JSON`, post, iterations],
  ['POST, hostile 64 KB punctuation value', hostile, Math.max(20, Math.floor(iterations / 100))],
] as const) {
  const base = await measure(request, undefined, n);
  for (const [name, inst] of Object.entries(instances)) {
    const us = (await measure(request, inst, n)) - base;
    console.log(`| ${label} | ${name} | ${us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : us.toFixed(1)} |`);
  }
}
