/**
 * Bodies, cookies and query strings the waf once read differently from the
 * parsers upstreams use (Werkzeug, busboy, qs, body-parser): each must now
 * be read their way, or refused as protocol.body-parse. The property test
 * against the real parsers is test/fuzz/body-differential.test.ts; these are
 * the cases found by hand, as a client sends them.
 */
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import waf from './index.js';
import { compilePolicy, decide, requestContext, type FakeRequest } from '../../../test/helpers/policy.js';
import type { Deny } from '../../pipeline/decision.js';

const p1 = compilePolicy(waf, {});
const SQLI = "' UNION SELECT password FROM users --";
const XSS = '<script>alert(1)</script>';

async function verdict(request: FakeRequest, instance = p1): Promise<Deny | undefined> {
  return (await decide(instance, requestContext(request))) ?? undefined;
}

async function rule(request: FakeRequest, instance = p1): Promise<string | undefined> {
  const result = await verdict(request, instance);
  return result === undefined ? undefined : String(result.event?.data?.rule);
}

const crlf = (...lines: string[]): string => lines.join('\r\n');

function multipart(contentType: string, body: string | Buffer): FakeRequest {
  return { method: 'POST', path: '/upload', headers: { 'content-type': contentType }, body };
}

/** A body whose "bar" reading is a field q holding the payload, and whose "foo" reading is a file part. */
const twoBoundaries = crlf(
  '--foo',
  'Content-Disposition: form-data; name="upload"; filename="a.txt"',
  '',
  '--bar',
  'Content-Disposition: form-data; name="q"',
  '',
  SQLI,
  '--bar--',
  '--foo--',
  '',
);

describe('waf multipart: parameters per RFC 9110, ambiguous bodies refused', () => {
  it('refuses a Content-Type naming the boundary twice, however it is spelled', async () => {
    for (const type of [
      'multipart/form-data; boundary=foo; boundary=bar',
      'multipart/form-data; boundary="foo"; boundary=bar',
      'multipart/form-data; BOUNDARY=foo; boundary=bar',
      'multipart/form-data; boundary=foo; boundary*=utf-8\'\'bar',
    ]) {
      assert.equal(await rule(multipart(type, twoBoundaries)), 'protocol.body-parse', type);
    }
  });

  it('reads boundary=, not a parameter that ends in it (xboundary=)', async () => {
    const result = await verdict(multipart('multipart/form-data; xboundary=foo; boundary=bar', twoBoundaries));
    assert.equal(result?.status, 403);
    assert.equal(result?.event?.data?.target, 'body:q');
  });

  it('refuses a part with two Content-Disposition headers (Werkzeug reads the first, the waf read the last)', async () => {
    const body = crlf('--B', 'Content-Disposition: form-data; name="comment"', 'Content-Disposition: form-data; name="file"; filename="a.png"', '', XSS, '--B--', '');
    assert.equal(await rule(multipart('multipart/form-data; boundary=B', body)), 'protocol.body-parse');
  });

  it('refuses unterminated parts, bare line feeds, padded or misplaced delimiters and folded headers', async () => {
    const field = ['Content-Disposition: form-data; name="q"', '', 'hello'];
    const bodies = {
      'no closing delimiter': crlf('--B', ...field, ''),
      'a delimiter with nothing after it': crlf('--B', ...field, '--B'),
      'LF line breaks': ['--B', ...field, '--B--', ''].join('\n'),
      'a delimiter with trailing spaces': crlf('--B  ', ...field, '--B--'),
      'the delimiter inside a value': crlf('--B', 'Content-Disposition: form-data; name="q"', '', 'x--B', '--B--'),
      'a delimiter in the epilogue': crlf('--B', ...field, '--B--', '--B', ...field, '--B--'),
      'a folded header': crlf('--B', 'Content-Disposition: form-data;', ' name="q"', '', 'hello', '--B--'),
      'a part without headers': crlf('--B', '', 'Content-Disposition: form-data; name="q"', '', 'hello', '--B--'),
      'a duplicated name parameter': crlf('--B', 'Content-Disposition: form-data; name="q"; name="r"', '', 'hello', '--B--'),
      'a parameter without a value': crlf('--B', 'Content-Disposition: form-data; name="q"; filename', '', 'hello', '--B--'),
      'a UTF-7 field': crlf('--B', 'Content-Disposition: form-data; name="q"', 'Content-Type: text/plain; charset=utf-7', '', '+ADw-script+AD4-alert(1)+ADw-/script+AD4-', '--B--'),
    };
    for (const [what, body] of Object.entries(bodies)) {
      assert.equal(await rule(multipart('multipart/form-data; boundary=B', body)), 'protocol.body-parse', what);
    }
  });

  it('lets ordinary uploads through: browsers, curl, and .NET with filename and filename*', async () => {
    const body = crlf(
      'preamble',
      '------WebKitFormBoundary7MA4YWxkTrZu0gW',
      'Content-Disposition: form-data; name="title"',
      '',
      'Holiday photos',
      '------WebKitFormBoundary7MA4YWxkTrZu0gW',
      'Content-Disposition: form-data; name="photo"; filename="beach.jpg"; filename*=utf-8\'\'beach.jpg',
      'Content-Type: image/jpeg',
      '',
      'binary <not inspected> ../../',
      '------WebKitFormBoundary7MA4YWxkTrZu0gW',
      'Content-Disposition: form-data; name="note"',
      'Content-Type: text/plain; charset=UTF-8',
      '',
      'Ünïcödé, with "quotes"; and semicolons',
      '------WebKitFormBoundary7MA4YWxkTrZu0gW--',
      '',
    );
    assert.equal(await verdict(multipart('multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW', body)), undefined);
    assert.equal(await verdict(multipart('multipart/form-data; charset=utf-8; boundary="----WebKitFormBoundary7MA4YWxkTrZu0gW"', body)), undefined);
  });
});

describe('waf JSON sniffing: the first non-whitespace byte of the whole body decides', () => {
  const json = JSON.stringify({ q: SQLI });
  it('inspects JSON after any amount of whitespace, or after a byte order mark', async () => {
    for (const [what, body] of [
      ['64 spaces', ' '.repeat(64) + json],
      ['4 KB of newlines and tabs', '\n\t'.repeat(2048) + json],
      ['a UTF-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)])],
      ['UTF-16LE with a BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(json, 'utf16le')])],
      ['UTF-16LE without one', Buffer.from(json, 'utf16le')],
    ] as const) {
      for (const type of ['text/plain', undefined]) {
        const headers: Record<string, string> = type ? { 'content-type': type } : {};
        assert.equal(await rule({ method: 'POST', path: '/j', headers, body }), 'sqli.tokens', `${what}, ${type ?? 'no type'}`);
      }
    }
  });

  it('inspects application/octet-stream, application/x-json and other types the waf does not parse', async () => {
    for (const type of ['application/octet-stream', 'application/x-json', 'application/vnd.custom', 'image/png']) {
      assert.equal(await rule({ method: 'POST', path: '/j', headers: { 'content-type': type }, body: json }), 'sqli.tokens', type);
      assert.equal(await rule({ method: 'POST', path: '/j', headers: { 'content-type': type }, body: `raw ${SQLI}` }), 'sqli.tokens', `${type} as text`);
    }
  });

  it('reads JSON with NaN or Infinity the way Python does, instead of passing it on unread', async () => {
    const body = `{"n": NaN, "i": -Infinity, "q": ${JSON.stringify(SQLI)}}`;
    assert.equal(await rule({ method: 'POST', path: '/j', headers: { 'content-type': 'text/plain' }, body }), 'sqli.tokens');
  });

  it('refuses bodies of unknown types with body.unknown_types: refuse', async () => {
    const strict = compilePolicy(waf, { body: { unknown_types: 'refuse' } });
    assert.equal(await rule({ method: 'POST', path: '/j', headers: { 'content-type': 'application/octet-stream' }, body: 'hello' }, strict), 'protocol.body-type');
    assert.equal(await rule({ method: 'POST', path: '/j', headers: {}, body: 'hello' }, strict), 'protocol.body-type');
    assert.equal(await verdict({ method: 'POST', path: '/j', headers: { 'content-type': 'application/json' }, body: '{"a":"hello"}' }, strict), undefined);
    assert.equal(await verdict({ method: 'POST', path: '/j', headers: { 'content-type': 'text/plain' }, body: 'hello' }, strict), undefined);
  });

  it('lets binary and prose of other types through', async () => {
    for (const body of ['[WARN] disk almost full; cleaning /tmp', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d])]) {
      for (const type of ['text/plain', 'application/octet-stream', undefined]) {
        const headers: Record<string, string> = type ? { 'content-type': type } : {};
        assert.equal(await verdict({ method: 'POST', path: '/j', headers, body }), undefined, `${type ?? 'no type'}`);
      }
    }
  });
});

describe('waf cookies, forms and query strings, read as upstreams read them', () => {
  it('reads a quoted cookie value across the ";" inside it, as Werkzeug does', async () => {
    assert.equal(await rule({ path: '/', headers: { cookie: `theme=dark; q="x; ${SQLI}"` } }), 'sqli.tokens');
  });

  it('reads Werkzeug\'s octal escapes in quoted cookie values', async () => {
    assert.ok(await verdict({ path: '/', headers: { cookie: 'q="\\074script\\076alert(1)\\074/script\\076"' } }));
  });

  it('reads raw UTF-8 in a form body as UTF-8 (full-width brackets included)', async () => {
    const body = Buffer.from('q=＜script＞alert(1)＜/script＞', 'utf8');
    assert.match(String(await rule({ method: 'POST', path: '/f', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })), /^xss\./);
  });

  it('refuses a compressed body it would inspect, which body-parser inflates before parsing', async () => {
    const form = gzipSync(`q=${encodeURIComponent(SQLI)}`);
    for (const type of ['application/x-www-form-urlencoded', 'application/json', 'application/octet-stream']) {
      const headers = { 'content-type': type, 'content-encoding': 'gzip' };
      assert.equal(await rule({ method: 'POST', path: '/f', headers, body: form }), 'protocol.body-parse', type);
    }
    assert.equal(await verdict({ method: 'POST', path: '/f', headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip' }, body: gzipSync('hello') }), undefined);
    assert.equal(await verdict({ method: 'POST', path: '/f', headers: { 'content-type': 'application/json', 'content-encoding': 'identity' }, body: '{"a":"b"}' }), undefined);
  });

  it('reads the media type up to whitespace as Python knows it (a no-break space too), as Werkzeug does', async () => {
    const headers = { 'content-type': 'application/x-www-form-urlencoded\u00a0x' };
    const result = await verdict({ method: 'POST', path: '/f', headers, body: `q=${encodeURIComponent(SQLI)}` });
    assert.equal(result?.event?.data?.target, 'body:q');
  });

  it('reads a JSON body sent as a form as JSON too, as get_json(force=True) does', async () => {
    const body = JSON.stringify({ q: SQLI });
    const result = await verdict({ method: 'POST', path: '/f', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    assert.equal(result?.event?.data?.target, 'body:q');
  });

  it('reads application/x-url-encoded as a form, as Werkzeug does', async () => {
    assert.equal(await rule({ method: 'POST', path: '/f', headers: { 'content-type': 'application/x-url-encoded' }, body: `q=${encodeURIComponent(SQLI)}` }), 'sqli.tokens');
  });
});
