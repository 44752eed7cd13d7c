/**
 * CRS's response phases as a user meets them (waf.response.enabled): a
 * response that leaks a database error is replaced by a 502 with waf.rule
 * and waf.crs events, and the client never sees its body; clean responses,
 * types the rules do not read and leaks past the body limit go through
 * unchanged; gzip bodies are read decoded; mode monitor only reports.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { send, startGateway, type TestGateway } from '../../../../test/helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../../../../test/helpers/upstream.js';
import type { TelemetryEvent } from '../../../telemetry/event.js';

const LEAK = 'Warning: You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near \'\'\' at line 1';

function answer(res: ServerResponse, type: string, body: Buffer | string, extra: Record<string, string> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(200, { 'content-type': type, 'content-length': bytes.length, ...extra });
  res.end(bytes);
}

describe('waf crs: response phases', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  const events: TelemetryEvent[] = [];

  async function eventsOf(requestId: string | string[] | undefined, type: string): Promise<TelemetryEvent[]> {
    // the request's events are published when its response closes: wait for them, generously
    for (let i = 0; i < 200; i++) {
      const found = events.filter((e) => e.type === type && e.request?.id === requestId);
      if (found.length > 0) return found;
      await new Promise((r) => setTimeout(r, 10));
    }
    return [];
  }

  before(async () => {
    upstream = await startUpstream((req, res) => {
      const path = (req.url ?? '/').replace(/^\/m\//, '/');
      if (path === '/leak') return answer(res, 'text/html; charset=utf-8', `<html><body>${LEAK}</body></html>`);
      if (path === '/leak.png') return answer(res, 'image/png', LEAK);
      if (path === '/leak-late') return answer(res, 'text/plain', `${'a'.repeat(4096)} ${LEAK}`);
      if (path === '/leak.gz') return answer(res, 'text/html', gzipSync(`<p>${LEAK}</p>`), { 'content-encoding': 'gzip' });
      return answer(res, 'application/json', JSON.stringify({ items: [{ id: 1, name: 'blue running shoes' }] }));
    });
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: monitored
    service: s
    public: true
    match: { paths: [/m/] }
    policies:
      - waf: { engine: crs, mode: monitor, response: { enabled: true } }
  - name: r
    service: s
    public: true
    match: { paths: [/] }
    policies:
      - waf: { engine: crs, response: { enabled: true, body_limit: 1KiB } }
`);
    gw.gateway.telemetry.events.subscribe((e) => events.push(e));
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('replaces a response that leaks a SQL error with a 502, reporting the rule', async () => {
    const r = await send(gw.url, '/leak');
    assert.equal(r.status, 502);
    assert.ok(!r.text.includes('SQL syntax'), 'the leaking body never reaches the client');
    assert.equal(r.json().error.code, 'bad_gateway');
    const id = r.headers['x-request-id'];
    const refusal = (await eventsOf(id, 'waf.crs'))[0];
    assert.ok(refusal, 'a waf.crs event');
    assert.equal(refusal.action, 'blocked');
    assert.match(String(refusal.details?.rule), /^951/);
    assert.equal(refusal.details?.target, 'RESPONSE_BODY');
    const rules = await eventsOf(id, 'waf.rule');
    assert.ok(rules.some((e) => /^951/.test(String(e.details?.rule)) && e.details?.target === 'RESPONSE_BODY'), JSON.stringify(rules.map((e) => e.details)));
    assert.ok(rules.some((e) => e.details?.rule === '959100'), 'the outbound blocking evaluation');
  });

  it('reads a gzip body decoded', async () => {
    const r = await send(gw.url, '/leak.gz', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(r.status, 502);
  });

  it('lets clean responses, unread types and leaks past body_limit through unchanged', async () => {
    const ok = await send(gw.url, '/items');
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json(), { items: [{ id: 1, name: 'blue running shoes' }] });
    const png = await send(gw.url, '/leak.png');
    assert.equal(png.status, 200, 'image/png is not among response.content_types');
    assert.equal(png.text, LEAK);
    const late = await send(gw.url, '/leak-late');
    assert.equal(late.status, 200, 'the leak sits past the 1 KiB the rules read');
    assert.equal(late.text.length, 4097 + LEAK.length);
  });

  it('only reports in mode monitor', async () => {
    const r = await send(gw.url, '/m/leak');
    assert.equal(r.status, 200);
    assert.ok(r.text.includes('SQL syntax'));
    const refusal = (await eventsOf(r.headers['x-request-id'], 'waf.crs'))[0];
    assert.ok(refusal, 'the refusal is reported');
    assert.equal(refusal.action, 'monitored');
  });
});
