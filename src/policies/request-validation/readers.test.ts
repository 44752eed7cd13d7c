/**
 * request-validation reads the request the way upstream parsers do, or
 * refuses it: each case is a value an upstream reads that an earlier reader
 * did not check. The fuzz (test/fuzz/request-validation-differential.test.ts)
 * and the end-to-end attacks (test/e2e/request-validation-differential.test.ts)
 * hold the same against the real parsers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import requestValidation from './index.js';
import { compilePolicy, decide, requestContext, type FakeRequest } from '../../../test/helpers/policy.js';

const DENY_QUOTE = { deny: "'" };

async function status(config: Record<string, unknown>, request: FakeRequest): Promise<number | undefined> {
  const result = await decide(compilePolicy(requestValidation, config), requestContext(request));
  return result?.status;
}

const SPEC = {
  openapi: '3.0.3',
  info: { title: 't', version: '1' },
  paths: {
    '/items': {
      get: { parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', maximum: 100 } }, { name: 'tag', in: 'cookie', schema: { type: 'string', pattern: '^[a-z]+$' } }, { name: 'x-tenant', in: 'header', schema: { type: 'string', pattern: '^[a-z]+$' } }] },
      post: {
        requestBody: {
          content: {
            'application/x-www-form-urlencoded': { schema: { type: 'object', properties: { q: { type: 'string', pattern: "^[^']*$" } } } },
            'application/json': { schema: { type: 'object', properties: { q: { type: 'string', pattern: "^[^']*$" } } } },
          },
        },
      },
    },
  },
};

describe('request-validation readers: every reading an upstream may make is checked', () => {
  it('query values: Werkzeug 2 and 3 and qs readings of malformed escapes and invalid UTF-8', async () => {
    const config = { query: { q: DENY_QUOTE } };
    assert.equal(await status(config, { query: 'q=blue%20shoes' }), undefined);
    for (const query of ['q=%27%zz', 'q=%zz%27', 'q=%%27', 'q=%F0%9F%27', 'q=%E9%27', "q=%E9'", '%71=%27%zz']) {
      assert.equal(await status(config, { query }), 400, query);
    }
  });

  it('a name without "=" is the empty value to every parser (a required rule sees it present)', async () => {
    assert.equal(await status({ query: { q: { required: true, min_length: 1 } } }, { query: 'q' }), 400);
    assert.equal(await status({ query: { q: { required: true } } }, { query: 'q' }), undefined);
  });

  it('cookies: every repeated value, Werkzeug quoting and octal escapes, and percent-decoding (Express cookie-parser)', async () => {
    const config = { cookies: { q: DENY_QUOTE } };
    assert.equal(await status(config, { headers: { cookie: 'q=blue; theme=dark' } }), undefined);
    for (const cookie of ["q=ok; q='", 'q="x; \'"', 'q="\\047"', 'q=%27', "q=ok; theme=x; q=x'"]) {
      assert.equal(await status(config, { headers: { cookie } }), 400, cookie);
    }
  });

  it('headers: a "_" spelling (X_Q) is the same header to CGI and WSGI', async () => {
    const config = { headers: { 'x-q': { ...DENY_QUOTE, required: true } } };
    assert.equal(await status(config, { headers: { 'x-q': 'ok' } }), undefined);
    assert.equal(await status(config, { headers: { 'x-q': 'ok', x_q: "'" } }), 400);
    assert.equal(await status(config, { headers: { x_q: 'ok' } }), undefined);
    assert.equal(await status(config, { headers: { X_q: "'" } }), 400);
  });

  it('OpenAPI parameters: each repeated value of a single-valued parameter, each reading, underscore headers', async () => {
    const config = { openapi: { spec: SPEC } };
    assert.equal(await status(config, { path: '/items', query: 'limit=5' }), undefined);
    // Werkzeug reads the first, PHP the last, qs both
    assert.equal(await status(config, { path: '/items', query: 'limit=5&limit=1000' }), 400);
    assert.equal(await status(config, { path: '/items', headers: { cookie: 'tag=ok; tag=%27' } }), 400);
    assert.equal(await status(config, { path: '/items', headers: { x_tenant: "'" } }), 400);
    // qs files limit[]=1000 and limit[0]=1000 under req.query.limit (Number(['1000']) is 1000)
    for (const query of ['limit[]=1000', 'limit[0]=1000', 'limit%5B%5D=1000', 'limit[x]=1000', 'limit[=1000']) {
      assert.equal(await status(config, { path: '/items', query }), 400, query);
    }
    assert.equal(await status({ query: { q: DENY_QUOTE } }, { query: "q[]=%27" }), 400);
  });

  it('bodies: a form read every way, JSON with a BOM or in UTF-16 read as Python reads it, and JSON sent as a form refused', async () => {
    const config = { openapi: { spec: SPEC } };
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const json = { 'content-type': 'application/json' };
    assert.equal(await status(config, { path: '/items', headers: form, body: 'q=blue+shoes' }), undefined);
    assert.equal(await status(config, { path: '/items', headers: form, body: 'q=%27%zz' }), 400);
    assert.equal(await status(config, { path: '/items', headers: form, body: 'q=caf%C3%A9' }), undefined);
    assert.equal(await status(config, { path: '/items', headers: form, body: '{"q":"\'"}' }), 400);
    assert.equal(await status(config, { path: '/items', headers: json, body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"q":"ok"}')]) }), undefined);
    assert.equal(await status(config, { path: '/items', headers: json, body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"q":"\'"}')]) }), 400);
    assert.equal(await status(config, { path: '/items', headers: json, body: Buffer.from('{"q":"\'"}', 'utf16le') }), 400);
    assert.equal(await status(config, { path: '/items', headers: json, body: Buffer.from('{"q":"ok"}', 'utf16le') }), undefined);
    assert.equal(await status(config, { path: '/items', headers: json, body: '{"q": NaN}' }), 400);
  });

  it('bodies: a Content-Encoding (body-parser inflates it) or a charset other than UTF-8 is refused when the body is validated', async () => {
    const config = { openapi: { spec: SPEC } };
    assert.equal(await status(config, { path: '/items', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' }, body: gzipSync("q='") }), 400);
    assert.equal(await status(config, { path: '/items', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' }, body: 'q=ok' }), 400);
    assert.equal(await status(config, { path: '/items', headers: { 'content-type': 'application/json; charset=utf-16' }, body: '{"q":"ok"}' }), 400);
    assert.equal(await status(config, { path: '/items', headers: { 'content-type': 'application/json; charset=UTF-8' }, body: '{"q":"ok"}' }), undefined);
    // parameters parsers read apart (a repeated charset, an empty parameter) are refused
    assert.equal(await status(config, { path: '/items', headers: { 'content-type': 'application/json; charset=utf-8; charset=utf-16' }, body: '{"q":"ok"}' }), 400);
    assert.equal(await status(config, { path: '/items', headers: { 'content-type': 'application/json;; charset=utf-16' }, body: '{"q":"ok"}' }), 400);
  });

  it('the media type is read as Werkzeug reads it: up to ";", "," or whitespace', async () => {
    const config = { openapi: { spec: SPEC } };
    // what follows the type is no strict parameter list: refused whatever the body
    assert.equal(await status(config, { path: '/items', headers: { 'content-type': 'application/json, text/plain' }, body: '{"q":"ok"}' }), 400);
    for (const type of ['application/json', 'Application/JSON ', 'application/json\t']) {
      assert.equal(await status(config, { path: '/items', headers: { 'content-type': type }, body: '{"q":"ok"}' }), undefined, type);
      assert.equal(await status(config, { path: '/items', headers: { 'content-type': type }, body: '{"q":"\'"}' }), 400, type);
    }
  });
});

describe('request-validation readers: path parameters', () => {
  it('a path parameter is checked as each server decodes it (invalid UTF-8 before a quote)', async () => {
    const spec = {
      openapi: '3.0.3',
      info: { title: 't', version: '1' },
      paths: { '/notes/{slug}': { get: { parameters: [{ name: 'slug', in: 'path', required: true, schema: { type: 'string', pattern: "^[^']*$" } }] } } },
    };
    assert.equal(await status({ openapi: { spec } }, { path: '/notes/blue%20shoes' }), undefined);
    assert.equal(await status({ openapi: { spec } }, { path: '/notes/a+b' }), undefined);
    assert.equal(await status({ openapi: { spec } }, { path: '/notes/%27' }), 400);
    assert.equal(await status({ openapi: { spec } }, { path: '/notes/%F0%9F%27' }), 400);
  });
});

describe('request-validation readers: deepObject query parameters', () => {
  it('filter[key]=value is validated as the object qs builds, and refused when nested or mixed with filter=', async () => {
    const spec = {
      openapi: '3.0.3',
      info: { title: 't', version: '1' },
      paths: {
        '/items': {
          get: {
            parameters: [
              { name: 'filter', in: 'query', style: 'deepObject', schema: { type: 'object', additionalProperties: false, properties: { status: { type: 'string', enum: ['open', 'shipped'] } } } },
            ],
          },
        },
      },
    };
    const config = { openapi: { spec }, unknown_query: 'reject' };
    assert.equal(await status(config, { path: '/items' }), undefined);
    assert.equal(await status(config, { path: '/items', query: 'filter[status]=open' }), undefined);
    assert.equal(await status(config, { path: '/items', query: 'filter%5Bstatus%5D=shipped' }), undefined);
    for (const query of ["filter[status]='", 'filter[other]=1', 'filter[status][x]=open', 'filter=open', 'filter=x&filter[status]=open', 'filter[status]=open&filter[status]=x']) {
      assert.equal(await status(config, { path: '/items', query }), 400, query);
    }
  });
});
