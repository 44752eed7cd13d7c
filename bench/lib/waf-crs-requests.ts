/**
 * The requests the CRS engine's benchmarks read (waf-crs-micro.ts, waf-crs-ab.ts,
 * waf-crs-profile.ts): a typical GET with browser headers, the same GET with
 * values never seen before, a 1 KB JSON order and a 64 KB value of random
 * punctuation. One definition, so their figures describe the same requests.
 */
import type { FakeRequest } from '../../test/helpers/policy.js';

export const headers = {
  host: 'api.example.com',
  'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  accept: 'application/json, text/plain, */*',
  'accept-language': 'en-GB,en;q=0.9,de;q=0.8',
  'accept-encoding': 'gzip, deflate, br',
  referer: 'https://app.example.com/orders?tab=open&page=2',
  cookie: 'session=7f3c9a1e0b2d4c6f8a9b; theme=dark; _ga=GA1.2.1234567890.1700000000',
};
export const get: FakeRequest = { method: 'GET', path: '/v1/customers/8421/orders', query: 'status=open&sort=-created_at&page=2&per_page=50&q=blue%20shoes', headers };
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
export const post: FakeRequest = { method: 'POST', path: '/v1/orders', headers: { ...headers, 'content-type': 'application/json' }, body: text };
const punct = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
let hostileValue = '';
for (let i = 0; i < 64 * 1024; i++) hostileValue += punct[Math.floor(Math.random() * punct.length)];
export const hostile: FakeRequest = { method: 'POST', path: '/v1/notes', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ note: hostileValue }) };

/**
 * The same GET with a value of its own per request (search text, session cookie, request id): the engine remembers
 * values across requests (crs/memo.ts), and this is the figure for traffic whose values it has not seen.
 */
let serial = 0;
export function freshGet(): FakeRequest {
  serial++;
  const token = `${serial.toString(36)}${Math.random().toString(36).slice(2, 10)}`;
  return {
    ...get,
    query: `status=open&sort=-created_at&page=${serial % 50}&per_page=50&q=blue%20shoes%20${token}`,
    headers: { ...headers, cookie: `session=${token}; theme=dark; _ga=GA1.2.${serial}.1700000000`, 'x-request-id': token },
  };
}
