/**
 * The admin API's write path against the size of the config: one key added
 * and revoked through the API (each write re-reads the running document,
 * edits it, and reloads it whole: validation, compile, swap) with 10, 1,000
 * and 5,000 consumers in the config. Also: how long the proxy takes to
 * refuse a revoked key after the API answered (0: the API answers once the
 * new snapshot serves). Run: npm run bench:admin-api [-- CONSUMERS...]
 */
import { Gateway } from '../src/gateway.js';
import { writeConfig } from '../test/helpers/gateway.js';
import { adminClient, adminSection, TOKENS } from '../test/helpers/admin-api.js';
import { Writable } from 'node:stream';
import { send } from '../test/helpers/gateway.js';
import { median } from './lib/stats.js';

const SIZES = process.argv.slice(2).map(Number).filter((n) => n > 0);
const WRITES = 10;

async function run(consumers: number): Promise<void> {
  const lines = [];
  for (let i = 0; i < consumers; i++) lines.push(`  - { name: c${i}, credentials: { key-auth: [{ id: k${i}, key: "key-${i}-0123456789abcdef" }] } }`);
  const file = writeConfig(`${adminSection()}
gateway: { limits: { max_event_loop_delay: 0s } }
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, match: { paths: [/] }, policies: [{ key-auth: {} }] }]
consumers:
${lines.join('\n')}
`);
  const gw = await Gateway.start({ configFile: file, logDestination: new Writable({ write: (_c, _e, done) => done() }) });
  const api = adminClient(gw.admin.url!, TOKENS.admin);
  const add: number[] = [];
  const revoke: number[] = [];
  let refusedAfter = 0;
  for (let i = 0; i < WRITES; i++) {
    const consumer = await api.call('GET', '/api/v1/consumers/c0');
    let t = performance.now();
    const added = await api.call('POST', '/api/v1/consumers/c0/credentials', { body: { method: 'key-auth', credential: { id: `new${i}`, key: `new-key-${i}-0123456789abcdef` } }, ifMatch: String(consumer.headers.etag) });
    add.push(performance.now() - t);
    if (added.status !== 201) throw new Error(added.text);
    t = performance.now();
    const gone = await api.call('DELETE', `/api/v1/consumers/c0/credentials/new${i}`, { ifMatch: String(added.headers.etag) });
    revoke.push(performance.now() - t);
    if (gone.status !== 204) throw new Error(gone.text);
    if ((await send(gw.url(), '/', { headers: { 'x-api-key': `new-key-${i}-0123456789abcdef` } })).status !== 401) refusedAfter++;
  }
  await gw.shutdown({ quiet: true });
  console.log(
    `${String(consumers).padStart(6)} consumers: add ${median(add).toFixed(1)} ms, revoke ${median(revoke).toFixed(1)} ms (median of ${WRITES}); revoked keys still accepted after the answer: ${refusedAfter}/${WRITES}`,
  );
}

for (const n of SIZES.length ? SIZES : [10, 1000, 5000]) await run(n);
