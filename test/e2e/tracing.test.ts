/**
 * Tracing over real sockets: a gateway, a real upstream that shows the
 * traceparent it received, and a real OTLP/HTTP receiver that decodes the
 * protobuf export with the official OpenTelemetry definitions (helpers/otlp.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';
import { echo, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { makePki, type Pki } from '../helpers/tls.js';
import { basename } from 'node:path';
import { SPAN_KIND, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

function config(upstream: string, flaky: string, tracing: string, store = '{ kind: memory }'): string {
  return `
listeners: [{ name: main, address: "127.0.0.1:0" }]
store: ${store}
services:
  - { name: echo, targets: [{ url: "${upstream}" }] }
  - { name: flaky, targets: [{ url: "${flaky}" }], retries: { attempts: 1, on: [503] } }
routes:
  - { name: open, service: echo, public: true, match: { paths: [/open] } }
  - { name: retried, service: flaky, public: true, match: { paths: [/flaky] } }
  - { name: limited, service: echo, public: true, match: { paths: [/limited] }, policies: [{ rate-limit: { limit: 100, window: 1m } }] }
telemetry:
  tracing: ${tracing}
`;
}

interface Seen {
  headers: Record<string, unknown>;
}

/** The upstream's view of the traceparent it got: trace id, parent id, flags. */
function upstreamTraceparent(seen: Seen): [string, string, string, string] {
  const value = seen.headers.traceparent;
  assert.equal(typeof value, 'string', 'the upstream received a traceparent');
  const m = TRACEPARENT.exec(value as string);
  assert.ok(m, `a version-00 traceparent: ${String(value)}`);
  return [m[0], m[1]!, m[2]!, m[3]!];
}

/** Access lines are written in batches: wait for the request's. */
function accessLine(gw: TestGateway, path: string) {
  return gw.waitForLog((l) => l.type === 'access' && l.path === path);
}

function spansOf(receiver: OtlpReceiver, traceId: string): ReceivedSpan[] {
  return receiver.spans.filter((s) => s.traceId === traceId);
}

describe('tracing on: spans exported over OTLP/HTTP', () => {
  let upstream: TestUpstream;
  let flaky: TestUpstream;
  let receiver: OtlpReceiver;
  let redis: TestRedis;
  let gw: TestGateway;
  let flakyCalls = 0;

  before(async () => {
    redis = await startRedis();
    upstream = await startUpstream();
    // 503 to every first request of a pair: the gateway retries (retries.on: [503]) and the second answers.
    flaky = await startUpstream((req, res, seen) => {
      if (flakyCalls++ % 2 === 0) res.writeHead(503).end();
      else echo(req, res, seen);
    });
    receiver = await startOtlpReceiver();
    gw = await startGateway(
      config(upstream.url, flaky.url, `{ enabled: true, endpoint: "${receiver.url}", batch_delay: 50ms, service_name: edge-gw, headers: { x-collector-token: tok-123 } }`, `{ kind: redis, url: "${redis.url}" }`),
    );
  });
  after(async () => {
    await gw.close();
    await Promise.all([upstream.close(), flaky.close(), receiver.close(), redis.close()]);
  });

  it("continues the client's trace: same trace id, the client's span as parent, the upstream attempt's span as the upstream's parent", async () => {
    const res = await send(gw.url, '/open/a?token=hide-me', {
      headers: { traceparent: `00-${TRACE}-${CLIENT_SPAN}-01`, tracestate: 'vendor=abc,other=x', 'user-agent': 'trace-test/1' },
    });
    assert.equal(res.status, 200);
    const seen = res.json() as Seen;
    const [, traceId, parentId, flags] = upstreamTraceparent(seen);
    assert.equal(traceId, TRACE);
    assert.equal(flags, '01');
    assert.notEqual(parentId, CLIENT_SPAN, "the client's traceparent is replaced, not forwarded");
    assert.equal(seen.headers.tracestate, 'vendor=abc,other=x');

    await receiver.waitFor(() => spansOf(receiver, TRACE).length >= 2);
    const spans = spansOf(receiver, TRACE);
    const server = spans.find((s) => s.kind === SPAN_KIND.SERVER)!;
    const attempt = spans.find((s) => s.kind === SPAN_KIND.CLIENT)!;
    assert.equal(server.parentSpanId, CLIENT_SPAN);
    assert.equal(server.name, 'GET open');
    assert.equal(attempt.parentSpanId, server.spanId);
    assert.equal(attempt.spanId, parentId, "the upstream's parent is the attempt span");
    assert.equal(server.attributes['http.request.method'], 'GET');
    assert.equal(server.attributes['url.path'], '/open/a');
    assert.equal(server.attributes['http.route'], 'open');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(server.attributes['client.address'], '127.0.0.1');
    assert.equal(server.attributes['user_agent.original'], 'trace-test/1');
    assert.equal(attempt.attributes['http.response.status_code'], 200);
    assert.equal(attempt.attributes['http.request.resend_count'], 0);
    assert.equal(attempt.attributes['url.full'], `${upstream.url}/open/a`);
    assert.equal(server.resource['service.name'], 'edge-gw');
    const exported = JSON.stringify(spans);
    assert.ok(!exported.includes('hide-me'), 'no query string in any span');
    assert.equal(receiver.lastHeaders?.['x-collector-token'], 'tok-123');

    const line = (await accessLine(gw, '/open/a'));
    assert.equal(line.trace_id, TRACE);
    assert.ok(!gw.logs.some((l) => JSON.stringify(l).includes('tok-123')), 'the collector token is never logged');
  });

  it('shows each retry as an attempt span of its own, each named as parent by the upstream it reached', async () => {
    const before = flaky.seen.length;
    const res = await send(gw.url, '/flaky/r');
    assert.equal(res.status, 200);
    const attempts = flaky.seen.slice(before);
    assert.equal(attempts.length, 2, 'the first answer (503) was retried');
    const parents = attempts.map((seen) => upstreamTraceparent(seen));
    const traceId = parents[0]![1];
    assert.equal(parents[1]![1], traceId);
    await receiver.waitFor(() => spansOf(receiver, traceId).length >= 3);
    const spans = spansOf(receiver, traceId);
    const server = spans.find((s) => s.kind === SPAN_KIND.SERVER)!;
    assert.equal(server.parentSpanId, '', 'a new trace: the server span is its root');
    const clients = spans.filter((s) => s.kind === SPAN_KIND.CLIENT).sort((a, b) => Number(a.attributes['http.request.resend_count']) - Number(b.attributes['http.request.resend_count']));
    assert.equal(clients.length, 2);
    assert.deepEqual(clients.map((c) => c.spanId), parents.map((p) => p[2]));
    assert.deepEqual(clients.map((c) => c.attributes['http.response.status_code']), [503, 200]);
    assert.deepEqual(clients.map((c) => c.parentSpanId), [server.spanId, server.spanId]);
    assert.equal(clients[0]!.statusCode, 2, 'the 503 attempt is an error');
  });

  it('starts a new trace for an invalid traceparent, and drops its tracestate', async () => {
    const upper = `00-${TRACE.toUpperCase()}-${CLIENT_SPAN}-01`;
    const res = await send(gw.url, '/open/invalid', { headers: { traceparent: upper, tracestate: 'vendor=abc' } });
    const seen = res.json() as Seen;
    const [, traceId, , flags] = upstreamTraceparent(seen);
    assert.notEqual(traceId, TRACE);
    assert.equal(flags, '01', 'sample_ratio 1: the new trace is recorded');
    assert.equal(seen.headers.tracestate, undefined);
    await receiver.waitFor(() => spansOf(receiver, traceId).some((s) => s.kind === SPAN_KIND.SERVER));
    const server = spansOf(receiver, traceId).find((s) => s.kind === SPAN_KIND.SERVER)!;
    assert.equal(server.parentSpanId, '');
    assert.equal((await accessLine(gw, '/open/invalid')).trace_id, traceId);
  });

  it('gives a policy stage that waits on I/O (a rate limit counted in Redis) a span under the request', async () => {
    const res = await send(gw.url, '/limited');
    assert.equal(res.status, 200);
    const [, traceId] = upstreamTraceparent(res.json());
    await receiver.waitFor(() => spansOf(receiver, traceId).some((s) => s.kind === SPAN_KIND.INTERNAL));
    const spans = spansOf(receiver, traceId);
    const server = spans.find((s) => s.kind === SPAN_KIND.SERVER)!;
    const stage = spans.find((s) => s.kind === SPAN_KIND.INTERNAL)!;
    assert.equal(stage.name, 'traffic rate-limit');
    assert.equal(stage.attributes['portcullis.phase'], 'traffic');
    assert.equal(stage.parentSpanId, server.spanId);
  });
});

describe('tracing on with sample_ratio 0: parent-based decisions (sampled_from: any)', () => {
  let upstream: TestUpstream;
  let receiver: OtlpReceiver;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    receiver = await startOtlpReceiver();
    gw = await startGateway(config(upstream.url, upstream.url, `{ enabled: true, endpoint: "${receiver.url}", sample_ratio: 0, sampled_from: any, batch_delay: 50ms }`));
  });
  after(async () => {
    await gw.close(); // already closed by the test; shutdown is idempotent
    await Promise.all([upstream.close(), receiver.close()]);
  });

  it('records no new trace, follows a sampled parent, and tells the upstream which', async () => {
    const root = await send(gw.url, '/open/root');
    const [, rootTrace, rootParent, rootFlags] = upstreamTraceparent(root.json());
    assert.equal(rootFlags, '00', 'not sampled, and the upstream is told so');
    assert.equal((await accessLine(gw, '/open/root')).trace_id, rootTrace, 'an unsampled request still carries its trace id');

    const unsampledParent = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const declined = await send(gw.url, '/open/declined', { headers: { traceparent: `00-${unsampledParent}-${CLIENT_SPAN}-00` } });
    const [, declinedTrace, , declinedFlags] = upstreamTraceparent(declined.json());
    assert.equal(declinedTrace, unsampledParent);
    assert.equal(declinedFlags, '00');

    const sampled = await send(gw.url, '/open/sampled', { headers: { traceparent: `00-${TRACE}-${CLIENT_SPAN}-01` } });
    const [, sampledTrace, sampledParent, sampledFlags] = upstreamTraceparent(sampled.json());
    assert.equal(sampledTrace, TRACE);
    assert.equal(sampledFlags, '01');

    // Shutting down exports everything queued: what has not arrived then was never recorded.
    await gw.close();
    const traces = new Set(receiver.spans.map((s) => s.traceId));
    assert.deepEqual([...traces], [TRACE], 'only the sampled parent was recorded');
    const attempt = receiver.spans.find((s) => s.kind === SPAN_KIND.CLIENT)!;
    assert.equal(attempt.spanId, sampledParent);
    assert.ok(!receiver.spans.some((s) => s.spanId === rootParent));
  });
});

describe('tracing on with sample_ratio 0: a client that is not a trusted proxy cannot force recording (the default sampled_from)', () => {
  let upstream: TestUpstream;
  let receiver: OtlpReceiver;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    receiver = await startOtlpReceiver();
    gw = await startGateway(config(upstream.url, upstream.url, `{ enabled: true, endpoint: "${receiver.url}", sample_ratio: 0, batch_delay: 50ms }`));
  });
  after(async () => {
    await gw.close(); // already closed by the test; shutdown is idempotent
    await Promise.all([upstream.close(), receiver.close()]);
  });

  it("continues the client's trace id but records nothing its sampled flag asked for", async () => {
    const forced = await send(gw.url, '/open/forced', { headers: { traceparent: `00-${TRACE}-${CLIENT_SPAN}-01` } });
    const [, forcedTrace, , forcedFlags] = upstreamTraceparent(forced.json());
    assert.equal(forcedTrace, TRACE, 'the trace id is continued');
    assert.equal(forcedFlags, '00', 'the upstream is told the request was not sampled');
    assert.equal((await accessLine(gw, '/open/forced')).trace_id, TRACE);
    await gw.close(); // exports everything queued
    assert.deepEqual(receiver.spans, [], 'nothing recorded at sample_ratio 0');
  });
});

describe('tracing off (the default)', () => {
  let upstream: TestUpstream;
  let receiver: OtlpReceiver;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    receiver = await startOtlpReceiver();
    // An endpoint is configured, but tracing is not enabled: nothing may reach it.
    gw = await startGateway(config(upstream.url, upstream.url, `{ endpoint: "${receiver.url}", batch_delay: 50ms }`));
  });
  after(async () => {
    await gw.close(); // already closed by the test; shutdown is idempotent
    await Promise.all([upstream.close(), receiver.close()]);
  });

  it("carries a valid incoming trace id to the access line and the upstream, re-written, and exports nothing", async () => {
    // A future version: read as 00 and forwarded as 00, without what version 00 does not know.
    const res = await send(gw.url, '/open/off', { headers: { traceparent: `01-${TRACE}-${CLIENT_SPAN}-03-extra`, tracestate: 'a=1' } });
    const seen = res.json() as Seen;
    assert.equal(seen.headers.traceparent, `00-${TRACE}-${CLIENT_SPAN}-01`);
    assert.equal(seen.headers.tracestate, 'a=1');
    assert.equal((await accessLine(gw, '/open/off')).trace_id, TRACE);

    const none = await send(gw.url, '/open/none');
    assert.equal(none.json().headers.traceparent, undefined);
    assert.equal((await accessLine(gw, '/open/none')).trace_id, undefined);

    const invalid = await send(gw.url, '/open/bad', { headers: { traceparent: `00-${'0'.repeat(32)}-${CLIENT_SPAN}-01`, tracestate: 'a=1' } });
    assert.equal(invalid.json().headers.traceparent, undefined, 'an invalid traceparent is not passed on');
    assert.equal(invalid.json().headers.tracestate, undefined);

    await gw.close();
    assert.equal(receiver.requests, 0);
  });
});

describe('tracing with accept_from: trusted_proxies', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(config(upstream.url, upstream.url, '{ accept_from: trusted_proxies }'));
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it("does not continue a trace from a client that is not a trusted proxy", async () => {
    const res = await send(gw.url, '/open/untrusted', { headers: { traceparent: `00-${TRACE}-${CLIENT_SPAN}-01` } });
    assert.equal(res.json().headers.traceparent, undefined);
    assert.equal((await accessLine(gw, '/open/untrusted')).trace_id, undefined);
  });
});

describe('a collector that fails', () => {
  let upstream: TestUpstream;
  let receiver: OtlpReceiver;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    receiver = await startOtlpReceiver();
    receiver.answer = 400; // a refusal the exporter does not retry
    gw = await startGateway(config(upstream.url, upstream.url, `{ enabled: true, endpoint: "${receiver.url}", batch_delay: 20ms }`));
  });
  after(async () => {
    await gw.close();
    await Promise.all([upstream.close(), receiver.close()]);
  });

  it('never affects requests, and is logged once per incident', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await send(gw.url, `/open/${i}`);
      assert.equal(res.status, 200);
      const requests = receiver.requests;
      const deadline = Date.now() + 10_000;
      while (receiver.requests === requests && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(receiver.requests >= 3, 'three batches were refused');
    const failures = () => gw.logs.filter((l) => l.msg.startsWith('trace export failed'));
    assert.equal(failures().length, 1);
    receiver.answer = 200;
    await send(gw.url, '/open/again');
    await gw.waitForLog((l) => l.msg === 'trace export works again', 10_000);
    assert.equal(failures().length, 1);
  });
});

describe('tracing turned on by a reload', () => {
  let upstream: TestUpstream;
  let receiver: OtlpReceiver;
  let gw: TestGateway;

  before(async () => {
    upstream = await startUpstream();
    receiver = await startOtlpReceiver();
    gw = await startGateway(config(upstream.url, upstream.url, '{}'));
  });
  after(async () => {
    await gw.close();
    await Promise.all([upstream.close(), receiver.close()]);
  });

  it('records the requests that arrive after the reload', async () => {
    assert.equal((await send(gw.url, '/open/before')).json().headers.traceparent, undefined);
    const reloaded = await gw.reload(config(upstream.url, upstream.url, `{ enabled: true, endpoint: "${receiver.url}", batch_delay: 20ms }`));
    assert.equal(reloaded.ok, true);
    const res = await send(gw.url, '/open/after');
    const [, traceId] = upstreamTraceparent(res.json() as Seen);
    await receiver.waitFor(() => spansOf(receiver, traceId).some((s) => s.kind === SPAN_KIND.SERVER));
    assert.equal(spansOf(receiver, traceId).find((s) => s.kind === SPAN_KIND.SERVER)!.attributes['url.path'], '/open/after');
  });
});

describe('an https collector that asks for a client certificate', () => {
  let upstream: TestUpstream;
  let receiver: OtlpReceiver;
  let gw: TestGateway;
  let pki: Pki;

  before(async () => {
    pki = await makePki('Collector CA');
    const server = await pki.issue('collector', { dns: ['localhost'], ips: ['127.0.0.1'] });
    await pki.issue('gateway', { dns: ['gateway.test'] });
    upstream = await startUpstream();
    receiver = await startOtlpReceiver({ cert: server.certPem, key: server.keyPem, ca: pki.caPem });
    // Paths relative to the config file's folder.
    gw = await startGateway(
      config(upstream.url, upstream.url, `{ enabled: true, endpoint: "${receiver.url}", batch_delay: 20ms, tls: { ca: ${basename(pki.caFile)}, cert: gateway.crt, key: gateway.key } }`),
      { dir: pki.dir },
    );
  });
  after(async () => {
    await gw.close();
    await Promise.all([upstream.close(), receiver.close()]);
  });

  it('exports with the configured CA and client certificate', async () => {
    const res = await send(gw.url, '/open/tls');
    const [, traceId] = upstreamTraceparent(res.json() as Seen);
    await receiver.waitFor(() => spansOf(receiver, traceId).some((s) => s.kind === SPAN_KIND.SERVER));
  });

  it('refuses to start when a tls file cannot be read, naming the setting', async () => {
    await assert.rejects(
      startGateway(config(upstream.url, upstream.url, `{ enabled: true, endpoint: "${receiver.url}", tls: { ca: missing-ca.pem } }`), { dir: pki.dir }),
      /telemetry\.tracing\.tls\.ca: cannot read missing-ca\.pem: ENOENT/,
    );
  });
});
