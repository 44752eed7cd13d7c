/**
 * Red team (issue 12): credentials in a path the gateway refuses. A Java
 * app's ;jsessionid=, and a client that sends an implicit flow's
 * #access_token=, are refused (path_parameter, fragment), and the refused
 * path used to reach the access line, the event stream and every access sink
 * whole. The path is kept up to the ";" or "#"; the reason says which.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import type { TelemetryEvent } from '../../src/telemetry/event.js';

const SESSION = 'A1B2C3D4E5F60718293A4B5C6D7E8F90';
const TOKEN = 'implicit-flow-token-77c1e2';

/** Sends one request as written (the client puts the fragment on the wire) and reads the status line. */
function rawStatus(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(`GET ${target} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`));
    let out = '';
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('close', () => resolve(out.split('\r\n')[0]!));
    s.on('error', reject);
  });
}

describe('red: credentials in refused paths', () => {
  let gw: TestGateway | undefined;
  after(async () => gw?.close());

  it('keeps ;jsessionid= and #access_token= out of the access line, events and access sinks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-red-path-'));
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] } }]
telemetry:
  access_log:
    sinks:
      - { kind: stdout }
      - { name: ecs, kind: file, path: ${dir}/access.ecs, format: ecs }
`);
    const events: TelemetryEvent[] = [];
    gw.gateway.telemetry.events.subscribe((e) => events.push(e));
    assert.match(await rawStatus(gw.port, `/shop/cart;jsessionid=${SESSION}`), / 400 /);
    assert.match(await rawStatus(gw.port, `/callback#access_token=${TOKEN}&token_type=bearer`), / 400 /);
    await gw.close();
    const reasons = events.map((e) => e.reason);
    assert.ok(reasons.includes('path_parameter') && reasons.includes('fragment'), reasons.join(','));
    const paths = events.map((e) => e.request?.path);
    assert.deepEqual(paths, ['/shop/cart;…', '/callback#…']);
    const outputs = [JSON.stringify(events), JSON.stringify(gw.accessLogs()), readFileSync(join(dir, 'access.ecs'), 'utf8')];
    for (const text of outputs) {
      assert.ok(!text.includes(SESSION), `session id in ${text.slice(0, 300)}`);
      assert.ok(!text.includes(TOKEN), `token in ${text.slice(0, 300)}`);
    }
  });
});
