/**
 * CPU cost of the waf policy per request, without a server: µs of process CPU
 * (user + system) per onRequest, for a typical GET without a body and a POST
 * with a 1 KB JSON body, at paranoia 1 and 2. The cost of building the
 * request context is measured separately and subtracted.
 *
 *   node --import tsx bench/waf-micro.ts [--iterations 200000]
 *
 * Timing belongs here, not in the pass/fail tests.
 */
import waf from '../src/policies/waf/index.js';
import type { PolicyInstance } from '../src/pipeline/policy.js';
import { compilePolicy, requestContext, type FakeRequest } from '../test/helpers/policy.js';

const args = process.argv.slice(2);
const iterations = args.includes('--iterations') ? Number(args[args.indexOf('--iterations') + 1]) : 100_000;

const headers = {
  'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  accept: 'application/json, text/plain, */*',
  'accept-language': 'en-GB,en;q=0.9,de;q=0.8',
  'accept-encoding': 'gzip, deflate, br',
  referer: 'https://app.example.com/orders?tab=open&page=2',
  cookie: 'session=7f3c9a1e0b2d4c6f8a9b; theme=dark; _ga=GA1.2.1234567890.1700000000',
  'x-request-id': '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed',
  authorization: 'Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
};

const get: FakeRequest = { method: 'GET', path: '/v1/customers/8421/orders', query: 'status=open&sort=-created_at&page=2&per_page=50&q=blue%20shoes', headers };

const order = {
  customer_id: 8421,
  email: 'jane.o\'connor@example.com',
  shipping: { name: "Jane O'Connor", line1: '221B Baker Street', line2: 'Flat 2', city: 'London', postcode: 'NW1 6XE', country: 'GB' },
  items: [
    { sku: 'SHOE-BLU-42', name: 'Blue running shoes', quantity: 1, price: 89.9 },
    { sku: 'SOCK-WHT-3P', name: 'White socks (3 pack)', quantity: 2, price: 9.5 },
  ],
  note: 'Please leave the parcel with the neighbour at no. 19 if nobody answers - thanks!',
  gift_message: 'Happy birthday, Sam! Select a plan for the next run & enjoy :)',
  coupon: 'SPRING-2026',
  callback_url: 'https://hooks.example.com/orders/8421/updated',
  metadata: { source: 'web', campaign: 'spring_sale', ab_bucket: 'b', referrer: 'newsletter-2026-03' },
};
let text = JSON.stringify(order);
while (Buffer.byteLength(text) < 1024) text = JSON.stringify({ ...order, padding: 'x'.repeat(1024 - Buffer.byteLength(text)) });
const post: FakeRequest = { method: 'POST', path: '/v1/orders', headers: { ...headers, 'content-type': 'application/json' }, body: text };

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function measure(label: string, request: FakeRequest, instance: PolicyInstance | undefined): Promise<number> {
  const run = async () => {
    const ctx = requestContext(request);
    if (instance?.onRequest) {
      const result = instance.onRequest(ctx);
      if (result instanceof Promise) await result;
      else if (result) throw new Error(`${label}: the benign request was blocked`);
    }
  };
  for (let i = 0; i < Math.min(5000, iterations); i++) await run(); // warm up
  const start = cpuMicros();
  for (let i = 0; i < iterations; i++) await run();
  return (cpuMicros() - start) / iterations;
}

const rows: string[] = [];
for (const [label, request] of [
  ['GET, no body', get],
  [`POST, ${Buffer.byteLength(text)} B JSON`, post],
] as const) {
  const baseline = await measure(label, request, undefined);
  for (const paranoia of [1, 2] as const) {
    const instance = compilePolicy(waf, { paranoia });
    const total = await measure(label, request, instance);
    rows.push(`| ${label} | ${paranoia} | ${(total - baseline).toFixed(2)} | ${baseline.toFixed(2)} |`);
  }
}
console.log(`node ${process.version}, ${iterations} iterations each`);
console.log('| request | paranoia | waf µs CPU per request | context + harness µs (subtracted) |');
console.log('|---|---:|---:|---:|');
for (const row of rows) console.log(row);
