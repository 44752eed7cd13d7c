/**
 * request-validation's parser differentials, through a running gateway to a
 * real Werkzeug upstream (Debian's 2.2, /usr/bin/python3, behind wsgiref as a
 * Flask app runs) that records every value it read: query arguments, form
 * fields, cookies, the X-Q header and get_json(force=True). Each request
 * carries a value the route's rules forbid ("'") in a spelling the old
 * readers read otherwise; each is refused and the upstream never reads the
 * payload. The same request made benign goes through and the upstream reads
 * it, so the refusals are not the upstream failing to parse.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';

const APP = String.raw`
import json
from wsgiref.simple_server import make_server, WSGIRequestHandler
from werkzeug.wrappers import Request

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

seen = []

def app(environ, start_response):
    request = Request(environ)
    if request.path == '/_seen':
        body = json.dumps(seen).encode()
    else:
        request.get_data(cache=True)  # form parsing and get_json(force=True) both read the body, as two views of one app would
        values = [request.path]
        values += [v for _, v in request.args.items(multi=True)]
        values += [v for _, v in request.form.items(multi=True)]
        values += [v for _, v in request.cookies.items(multi=True)]
        if request.headers.get('X-Q') is not None:
            values.append(request.headers.get('X-Q'))
        parsed = request.get_json(force=True, silent=True)
        stack = [parsed]
        while stack:
            v = stack.pop()
            if isinstance(v, str): values.append(v)
            elif isinstance(v, list): stack.extend(v)
            elif isinstance(v, dict): stack.extend(v.values())
        seen.extend(values)
        body = json.dumps(values).encode()
    start_response('200 OK', [('content-type', 'application/json'), ('content-length', str(len(body)))])
    return [body]

server = make_server('127.0.0.1', 0, app, handler_class=Quiet)
print(server.server_port, flush=True)
server.serve_forever()
`;

async function startWerkzeugUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const child: ChildProcess = spawn('/usr/bin/python3', ['-c', APP], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(Number(out.split('\n')[0]));
    });
    child.once('exit', (code) => reject(new Error(`werkzeug upstream exited (${code}): ${stderr}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

const SPEC = JSON.stringify({
  openapi: '3.0.3',
  info: { title: 'Notes', version: '1' },
  paths: {
    '/api/notes/{slug}': { get: { parameters: [{ name: 'slug', in: 'path', required: true, schema: { type: 'string', pattern: "^[^']*$" } }] } },
    '/api/notes': {
      post: {
        requestBody: {
          content: {
            'application/json': { schema: { type: 'object', properties: { q: { type: 'string', pattern: "^[^']*$" } } } },
            'application/x-www-form-urlencoded': { schema: { type: 'object', properties: { q: { type: 'string', pattern: "^[^']*$" } } } },
            'multipart/form-data': {},
          },
        },
      },
    },
  },
});

const PAYLOAD = "' OR '1'='1";

interface Attack {
  what: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** What the upstream reads from the attack (it must never read it). */
  payload: string;
  /** The same request made harmless: it passes and the upstream reads `expect`. */
  benign: { path: string; headers?: Record<string, string>; body?: string; expect: string };
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const multipart = { 'content-type': 'multipart/form-data; boundary=B' };

const ATTACKS: Attack[] = [
  {
    what: 'a path parameter with invalid UTF-8 before the quote (/api/notes/%F0%9F%27: kept as sent by decodeURIComponent\'s failure)',
    path: '/api/notes/%F0%9F%27%20OR%201',
    payload: "' OR 1",
    benign: { path: '/api/notes/%F0%9F%20blue', expect: '/api/notes/\ufffd blue' },
  },
  {
    what: 'a query value with a malformed escape after a valid one (q=%27%zz: "\'%zz" to Werkzeug)',
    path: '/rules?q=%27%20OR%201%zz',
    payload: "' OR 1%zz",
    benign: { path: '/rules?q=blue%20shoes%zz', expect: 'blue shoes%zz' },
  },
  {
    what: 'a query value with invalid UTF-8 before the quote (q=%F0%9F%27)',
    path: '/rules?q=%F0%9F%27%20OR%201',
    payload: "' OR 1",
    benign: { path: '/rules?q=%F0%9F%20blue', expect: '\ufffd blue' },
  },
  {
    what: 'a quoted cookie value holding ";" (q="x; \'...": "x" to a split at ";")',
    path: '/rules',
    headers: { cookie: `q="x; ${PAYLOAD}"` },
    payload: PAYLOAD,
    benign: { path: '/rules', headers: { cookie: 'q="x; blue shoes"' }, expect: 'x; blue shoes' },
  },
  {
    what: 'a quoted cookie value with an octal escape (q="\\047 OR 1")',
    path: '/rules',
    headers: { cookie: 'q="\\047 OR 1"' },
    payload: "' OR 1",
    benign: { path: '/rules', headers: { cookie: 'q="\\142lue"' }, expect: 'blue' },
  },
  {
    what: 'a header spelled with "_" (X_Q, HTTP_X_Q to WSGI, as X-Q is)',
    path: '/rules',
    headers: { x_q: PAYLOAD },
    payload: PAYLOAD,
    benign: { path: '/rules', headers: { x_q: 'blue shoes' }, expect: 'blue shoes' },
  },
  {
    what: 'a form field with a malformed escape (OpenAPI form schema; q=%27%zz)',
    path: '/api/notes',
    headers: form,
    body: 'q=%27%20OR%201%zz',
    payload: "' OR 1%zz",
    benign: { path: '/api/notes', headers: form, body: 'q=blue%20shoes%zz', expect: 'blue shoes%zz' },
  },
  {
    what: 'JSON sent as a form (the form schema sees one field named after the document)',
    path: '/api/notes',
    headers: form,
    body: JSON.stringify({ q: PAYLOAD }),
    payload: PAYLOAD,
    benign: { path: '/api/notes', headers: form, body: 'q=blue+shoes', expect: 'blue shoes' },
  },
  {
    what: 'JSON sent as multipart/form-data (declared without a schema), read by get_json(force=True)',
    path: '/api/notes',
    headers: multipart,
    body: JSON.stringify({ q: PAYLOAD }),
    payload: PAYLOAD,
    benign: { path: '/api/notes', headers: multipart, body: JSON.stringify({ q: 'blue shoes' }), expect: 'blue shoes' },
  },
];

describe('request-validation parser differentials through the gateway, against a Werkzeug upstream', () => {
  let upstream: Awaited<ReturnType<typeof startWerkzeugUpstream>>;
  let gw: TestGateway;

  before(async () => {
    upstream = await startWerkzeugUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: flask, targets: [{ url: "${upstream.url}" }] }]
routes:
  - name: rules
    service: flask
    public: true
    match: { paths: [/rules] }
    policies:
      - request-validation:
          query: { q: { deny: "'" } }
          cookies: { q: { deny: "'" } }
          headers: { x-q: { deny: "'" } }
  - name: api
    service: flask
    public: true
    match: { paths: [/api/notes] }
    policies:
      - request-validation:
          openapi: { spec: ${JSON.stringify(SPEC)}, strict: true }
`);
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  for (const attack of ATTACKS) {
    it(`refuses ${attack.what}, and Werkzeug never reads the payload`, async () => {
      const method = attack.body === undefined ? 'GET' : 'POST';
      const benign = await send(gw.url, attack.benign.path, { method, headers: attack.benign.headers, body: attack.benign.body });
      assert.equal(benign.status, 200, `the benign request passes: ${benign.text}`);
      assert.ok(benign.json<string[]>().includes(attack.benign.expect), `Werkzeug read the benign value: ${benign.text}`);

      const res = await send(gw.url, attack.path, { method, headers: attack.headers, body: attack.body });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'invalid_request');
      const seen = (await send(upstream.url, '/_seen')).json<string[]>();
      assert.ok(!seen.some((v) => v.includes(attack.payload)), `the upstream read the payload: ${JSON.stringify(seen)}`);
    });
  }
});
