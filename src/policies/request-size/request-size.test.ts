/**
 * request-size over real sockets: declared and streamed bodies over the
 * limit, URL length, query parameters, header count and size. A chunked
 * 10 MB body against a 1 MB limit is cut with 413 and never reaches the
 * upstream whole.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { send, startGateway, type TestGateway } from '../../../test/helpers/gateway.js';
import { rawExchange } from '../../../test/helpers/raw.js';
import { startUpstream, type TestUpstream } from '../../../test/helpers/upstream.js';

const MiB = 1024 * 1024;

describe('request-size', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  /** Bytes of request body the upstream received per request, including requests cut short. */
  const received: number[] = [];

  before(async () => {
    upstream = await startUpstream(
      (req, res) => {
        let bytes = 0;
        received.push(0);
        const slot = received.length - 1;
        req.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          received[slot] = bytes;
        });
        req.on('end', () => res.end(JSON.stringify({ bytes })));
        req.on('error', () => {});
      },
      { readBody: false },
    );
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: api, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: upload
    service: api
    public: true
    match: { paths: [/upload] }
    policies:
      - request-size: { max_body: 1MiB, max_url_length: 100, max_query_params: 3, max_headers: 12, max_header_size: 2KiB }
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  it('refuses a declared Content-Length over the limit at once, before the body is sent', async () => {
    const seen = upstream.seen.length;
    // Expect: 100-continue: the client waits for the go-ahead, which never comes.
    const res = await rawExchange(
      gw.port,
      `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${2 * MiB}\r\nExpect: 100-continue\r\n\r\n`,
      1000,
    );
    assert.equal(res.status, 413);
    assert.match(res.text, /"code":"payload_too_large"/);
    assert.doesNotMatch(res.text, /100 Continue/);
    assert.equal(upstream.seen.length, seen);
  });

  it('passes a body within the limit, declared or chunked', async () => {
    const body = Buffer.alloc(MiB - 10, 0x61);
    const declared = await send(gw.url, '/upload', { method: 'POST', body });
    assert.equal(declared.status, 200);
    assert.equal(declared.json<{ bytes: number }>().bytes, MiB - 10);
    const chunked = await chunkedUpload(gw.port, Math.floor(MiB / 65536) * 65536);
    assert.equal(chunked.status, 200);
  });

  it('cuts a chunked 10 MB body at 1 MB with 413; the upstream never receives it whole', async () => {
    const before = received.length;
    const res = await chunkedUpload(gw.port, 10 * MiB);
    assert.equal(res.status, 413);
    assert.match(res.body, /"code":"payload_too_large"/);
    // The upstream may have seen the start of the body (it streams), never more than the limit.
    const upstreamBytes = received.slice(before);
    assert.ok(upstreamBytes.every((b) => b <= MiB), `upstream received ${upstreamBytes.join(', ')} bytes`);
    assert.ok(res.sent < 10 * MiB, 'the gateway stopped reading long before the end');
  });

  it('refuses long URLs, too many query parameters, too many and too large headers', async () => {
    assert.equal((await send(gw.url, `/upload/${'a'.repeat(120)}`)).status, 414);
    const params = await send(gw.url, '/upload?a=1&b=2&c=3&d=4');
    assert.equal(params.status, 414);
    assert.equal(params.json<{ error: { code: string } }>().error.code, 'query_too_complex');
    assert.equal((await send(gw.url, '/upload?a=1&b=2&c=3')).status, 200);
    const many: Record<string, string> = {};
    for (let i = 0; i < 15; i++) many[`x-h${i}`] = 'v';
    const headers = await send(gw.url, '/upload', { headers: many });
    assert.equal(headers.status, 431);
    assert.equal(headers.json<{ error: { code: string } }>().error.code, 'too_many_headers');
    assert.equal((await send(gw.url, '/upload', { headers: { 'x-big': 'b'.repeat(3000) } })).status, 431);
  });
});

/** Streams `size` bytes as chunked, 64 KiB at a time, as fast as the gateway takes them. */
function chunkedUpload(port: number, size: number): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    const req = request({ host: '127.0.0.1', port, path: '/upload', method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sent }));
      res.on('error', reject);
    });
    req.on('error', (err) => (sent > 0 ? resolve({ status: 0, body: String(err), sent }) : reject(err)));
    const chunk = Buffer.alloc(65536, 0x62);
    const pump = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}
