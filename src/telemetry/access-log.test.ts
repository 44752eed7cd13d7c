import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RequestContext } from '../pipeline/context.js';
import { AccessLog } from './access-log.js';

function capture() {
  const lines: string[] = [];
  return { lines, out: { write: (line: string) => void lines.push(line) } };
}

describe('access log line', () => {
  it('is valid JSON with every field, and escapes what needs escaping', () => {
    const { lines, out } = capture();
    const ctx = new RequestContext('id-1', 'GET', '/a"b\\c', 'key=secret', { authorization: 'Bearer t' }, 'h\u0001st', '10.0.0.1', 'http', performance.now(), undefined);
    ctx.routeName = 'r';
    ctx.serviceName = 's';
    ctx.upstreamTarget = 'http://127.0.0.1:1';
    ctx.consumer = { name: 'al"ice', groups: [], metadata: {} };
    ctx.upstreamLatencyMs = 1.23456;
    ctx.bytesSent = 42;
    ctx.traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    ctx.recordEvent('key-auth', { status: 401, code: 'unauthorized', message: undefined, headers: undefined, event: { type: 'auth.invalid_credentials' } }, 'blocked');
    ctx.denial = { status: 401, code: 'unauthorized', message: undefined, headers: undefined, event: undefined };
    const log = new AccessLog(out);
    log.write(ctx, 401, true);
    log.flush();
    assert.equal(lines.length, 1);
    assert.ok(lines[0]!.endsWith('}\n'));
    const line = JSON.parse(lines[0]!);
    assert.equal(line.type, 'access');
    assert.equal(line.path, '/a"b\\c');
    assert.equal(line.host, 'h\u0001st');
    assert.equal(line.consumer, 'al"ice');
    assert.equal(line.status, 401);
    assert.equal(line.code, 'unauthorized');
    assert.equal(line.upstream_ms, 1.23);
    assert.equal(line.bytes_sent, 42);
    assert.equal(line.trace_id, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.deepEqual(line.events, ['blocked:auth.invalid_credentials']);
    assert.ok(!lines[0]!.includes('secret'), 'no query string');
    assert.ok(!lines[0]!.includes('Bearer'), 'no headers');
  });

  it('leaves out what a request never reached', () => {
    const { lines, out } = capture();
    const log = new AccessLog(out);
    log.write(new RequestContext('id-2', 'GET', '/', '', {}, '', '::1', 'http', performance.now(), undefined), 404, true);
    log.flush();
    const line = JSON.parse(lines[0]!);
    for (const absent of ['trace_id', 'route', 'service', 'target', 'consumer', 'code', 'upstream_ms', 'events']) assert.equal(line[absent], undefined, absent);
  });

  it('writes non-ASCII text as UTF-8 JSON, and numbers as JSON numbers', () => {
    const { lines, out } = capture();
    const log = new AccessLog(out);
    const ctx = new RequestContext('id-3', 'GET', '/caf\u00e9/\u65e5\u672c/\ud83d\ude00', '', {}, 'xn--caf-dma.example', '10.0.0.1', 'http', performance.now() - 1234.567, undefined);
    ctx.consumer = { name: 'Z\u00fcrich \u2028', groups: [], metadata: {} };
    ctx.upstreamLatencyMs = 0.005;
    ctx.bytesSent = 1_234_567_890_123;
    log.write(ctx, 200, false);
    const ctx2 = new RequestContext('id-4', 'GET', '/a\ud800b', '', {}, 'h\u0085', '10.0.0.1', 'http', performance.now(), undefined);
    ctx2.upstreamLatencyMs = 12.1;
    ctx2.bytesSent = 0;
    log.write(ctx2, 502, true);
    log.flush();
    const [first, second] = lines[0]!.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(first!.path, '/caf\u00e9/\u65e5\u672c/\ud83d\ude00');
    assert.equal(first!.consumer, 'Z\u00fcrich \u2028');
    assert.ok(!lines[0]!.includes('\u2028') && !lines[0]!.includes('\u0085'), 'Unicode line ends escaped');
    assert.equal(first!.completed, false);
    assert.equal(first!.upstream_ms, 0.01);
    assert.equal(first!.bytes_sent, 1_234_567_890_123);
    assert.ok((first!.total_ms as number) >= 1234.56);
    assert.equal(second!.path, '/a\ud800b', 'a lone surrogate escaped, not mangled');
    assert.equal(second!.host, 'h\u0085');
    assert.equal(second!.upstream_ms, 12.1);
    assert.equal(second!.bytes_sent, 0);
    assert.equal(second!.status, 502);
  });

  it('keeps a line longer than its buffer whole', () => {
    const { lines, out } = capture();
    const log = new AccessLog(out);
    const path = '/' + 'a'.repeat(200_000);
    log.write(new RequestContext('id-5', 'GET', '/short', '', {}, 'h', '::1', 'http', performance.now(), undefined), 200, true);
    log.write(new RequestContext('id-6', 'GET', path, '', {}, 'h\u00e9', '::1', 'http', performance.now(), undefined), 200, true);
    log.write(new RequestContext('id-7', 'GET', '/after', '', {}, 'h', '::1', 'http', performance.now(), undefined), 200, true);
    log.flush();
    const parsed = lines.join('').trim().split('\n').map((l) => JSON.parse(l) as { path: string; host: string });
    assert.deepEqual(parsed.map((l) => l.path), ['/short', path, '/after']);
    assert.equal(parsed[1]!.host, 'h\u00e9');
  });

  it('hands lines over in batches, and on its own within 100 ms', async () => {
    const { lines, out } = capture();
    const log = new AccessLog(out);
    for (let i = 0; i < 3; i++) log.write(new RequestContext(`id-${i}`, 'GET', '/', '', {}, '', '::1', 'http', performance.now(), undefined), 200, true);
    assert.equal(lines.length, 0);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(lines.length, 1, 'one batch');
    assert.equal(lines[0]!.trim().split('\n').length, 3);
  });
});
