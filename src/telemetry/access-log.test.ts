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
