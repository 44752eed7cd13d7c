/**
 * Red team (issue 12): what one request makes a sink hold. Records queue in
 * memory while a receiver is down (telemetry.*.sinks[].queue, 10,000 by
 * default), and each held the client's Host and path whole: a 15 KB Host
 * header made a record of about 19 KB, 190 MB per sink. The host is bounded
 * like a DNS name (256) and the path at 2048 in events and access records.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import type { TelemetryEvent } from '../../src/telemetry/event.js';

describe('red: record size from client headers', () => {
  let gw: TestGateway | undefined;
  after(async () => gw?.close());

  it('bounds the host and path an event and an access record carry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-red-size-'));
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]
routes: [{ name: r, service: s, public: true, match: { paths: [/] }, policies: [{ waf: { mode: monitor } }] }]
telemetry:
  events:
    sinks: [{ name: ev, kind: file, path: ${dir}/events.json }]
  access_log:
    sinks: [{ name: ac, kind: file, path: ${dir}/access.json }]
`);
    const events: TelemetryEvent[] = [];
    gw.gateway.telemetry.events.subscribe((e) => events.push(e));
    const host = `${'a'.repeat(9_000)}.example`;
    const path = `/${'b'.repeat(5_000)}`;
    // The waf flags the query, so the request has an event too.
    const r = await send(gw.url, `${path}?q=%3Cscript%3Ealert(1)%3C/script%3E`, { headers: { host } });
    assert.equal(r.status, 502);
    await gw.close();
    const waf = events.find((e) => e.type === 'waf.xss');
    assert.ok(waf, events.map((e) => e.type).join(','));
    assert.ok(waf.request!.host.length <= 257 && waf.request!.path.length <= 2049, `${waf.request!.host.length} ${waf.request!.path.length}`);
    for (const file of ['events.json', 'access.json']) {
      const line = readFileSync(join(dir, file), 'utf8').trim();
      assert.ok(line.length > 0 && line.length < 4_000, `${file}: a record of ${line.length} characters`);
    }
  });
});
