/**
 * The attacks of issue 10 items 4 and 5, and the quoted-cookie one the
 * differential fuzz found, through a running gateway to a real Flask-style
 * upstream: Werkzeug 2.2 (Debian's, /usr/bin/python3) parsing form, files,
 * cookies and get_json(force=True), and recording every value it read. Each
 * attack is refused, and the upstream never reads the payload; the same
 * request made benign goes through and the upstream reads it, so the
 * refusals are not the upstream failing to parse.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { send, startGateway, type TestGateway } from '../helpers/gateway.js';

const APP = String.raw`
import json, sys
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
        values = [v for _, v in request.form.items(multi=True)]
        values += [v for _, v in request.cookies.items(multi=True)]
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

const SQLI = "' UNION SELECT password FROM users --";
const XSS = '<script>alert(1)</script>';
const crlf = (...lines: string[]): string => lines.join('\r\n');

interface Attack {
  what: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  payload: string;
  /** The same request with the payload replaced by something harmless: it must reach the upstream, read. */
  benign: { headers: Record<string, string>; body?: string | Buffer; expect: string };
}

/** Werkzeug reads boundary=bar (the last); the waf once read foo and saw only a file part. */
function boundaryAttack(contentType: string, value: string): { body: string; headers: Record<string, string> } {
  const body = crlf('--foo', 'Content-Disposition: form-data; name="upload"; filename="a.txt"', '', '--bar', 'Content-Disposition: form-data; name="q"', '', value, '--bar--', '--foo--', '');
  return { body, headers: { 'content-type': contentType } };
}

function twoDispositions(value: string): string {
  return crlf('--B', 'Content-Disposition: form-data; name="comment"', 'Content-Disposition: form-data; name="file"; filename="a.png"', '', value, '--B--', '');
}

const ATTACKS: Attack[] = [
  ...['multipart/form-data; boundary=foo; boundary=bar', 'multipart/form-data; xboundary=foo; boundary=bar', 'multipart/form-data; boundary="foo"; boundary=bar'].map((type) => ({
    what: `item 4a: ${type}`,
    ...boundaryAttack(type, SQLI),
    payload: SQLI,
    benign: { ...boundaryAttack('multipart/form-data; boundary=bar', 'blue shoes'), expect: 'blue shoes' },
  })),
  {
    what: 'item 4b: a part with two Content-Disposition headers',
    headers: { 'content-type': 'multipart/form-data; boundary=B' },
    body: twoDispositions(XSS),
    payload: XSS,
    benign: { headers: { 'content-type': 'multipart/form-data; boundary=B' }, body: crlf('--B', 'Content-Disposition: form-data; name="comment"', '', 'nice post', '--B--', ''), expect: 'nice post' },
  },
  ...([
    ['64 spaces before JSON, text/plain', 'text/plain', (v: string) => ' '.repeat(64) + JSON.stringify({ q: v })],
    ['a UTF-8 BOM before JSON, text/plain', 'text/plain', (v: string) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ q: v }))])],
    ['JSON without a Content-Type, after padding', undefined, (v: string) => '\n'.repeat(100) + JSON.stringify({ q: v })],
    ['JSON as application/octet-stream', 'application/octet-stream', (v: string) => JSON.stringify({ q: v })],
    ['JSON as application/x-json', 'application/x-json', (v: string) => JSON.stringify({ q: v })],
    ['UTF-16 JSON as text/plain', 'text/plain', (v: string) => Buffer.from(JSON.stringify({ q: v }), 'utf16le')],
  ] as const).map(([what, type, make]) => {
    const headers: Record<string, string> = type ? { 'content-type': type } : {};
    return { what: `item 5: ${what}`, headers, body: make(SQLI), payload: SQLI, benign: { headers, body: make('blue shoes'), expect: 'blue shoes' } };
  }),
  {
    what: 'parser differentials: a quoted cookie value holding ";"',
    headers: { cookie: `theme=dark; q="x; ${SQLI}"` },
    payload: SQLI,
    benign: { headers: { cookie: 'theme=dark; q="x; blue shoes"' }, expect: 'x; blue shoes' },
  },
];

describe('waf parser differentials through the gateway, against a Werkzeug upstream', () => {
  let upstream: Awaited<ReturnType<typeof startWerkzeugUpstream>>;
  let gw: TestGateway;

  before(async () => {
    upstream = await startWerkzeugUpstream();
    gw = await startGateway(`
listeners: [{ name: main, address: "127.0.0.1:0" }]
services: [{ name: flask, targets: [{ url: "${upstream.url}" }] }]
global_policies:
  - waf: {}
routes:
  - { name: api, service: flask, public: true, match: { paths: [/api] } }
`);
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  for (const attack of ATTACKS) {
    it(`refuses ${attack.what}, and Werkzeug never reads the payload`, async () => {
      const benign = await send(gw.url, '/api/form', { method: 'POST', headers: attack.benign.headers, body: attack.benign.body });
      assert.equal(benign.status, 200, 'the benign request passes');
      assert.ok(benign.json<string[]>().includes(attack.benign.expect), `Werkzeug read the benign value: ${benign.text}`);

      const res = await send(gw.url, '/api/form', { method: 'POST', headers: attack.headers, body: attack.body });
      assert.equal(res.status, 403);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'request_blocked');
      const seen = (await send(upstream.url, '/_seen')).json<string[]>();
      assert.ok(!seen.some((v) => v.includes(attack.payload)), `the upstream read the payload: ${JSON.stringify(seen)}`);
    });
  }
});
