/**
 * A real Werkzeug upstream (Debian python3-werkzeug) on 127.0.0.1, port 0:
 * Werkzeug's own routing and development server, which upper-case the method
 * (werkzeug.sansio.request: `self.method = method.upper()`), as Flask apps
 * behind a gateway see it. Each rule answers JSON naming the handler that ran,
 * the method it read and the consumer the gateway named, plus a header that
 * shows on HEAD too (`echoHeaders`: and the request headers it received);
 * every request is counted by method and path. `methodOverride` installs the method-override
 * middleware many Flask apps copy.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface WerkzeugUpstream {
  url: string;
  /** Requests the application ran, as "METHOD path" in the method Werkzeug read. */
  seen(): Promise<string[]>;
  close(): Promise<void>;
}

const APP = `
import json, threading
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response
from werkzeug.serving import make_server, WSGIRequestHandler
from werkzeug.exceptions import HTTPException

class Quiet(WSGIRequestHandler):
    def log(self, *args):
        pass

urls = Map([
    Rule('/docs/item', methods=['POST', 'PUT', 'PATCH', 'DELETE'], endpoint='write_item'),
    Rule('/docs/item', methods=['GET'], endpoint='read_item'),
    Rule('/report', methods=['GET'], endpoint='report'),
    Rule('/__seen', methods=['GET'], endpoint='seen'),
])
import sys
ECHO_HEADERS = 'echo-headers' in sys.argv
seen = []
lock = threading.Lock()

@Request.application
def app(request):
    try:
        endpoint, _ = urls.bind_to_environ(request.environ).match()
    except HTTPException as e:
        return e
    if endpoint == 'seen':
        with lock:
            return Response(json.dumps(seen), content_type='application/json')
    with lock:
        seen.append(request.method + ' ' + request.path)
    out = {'handler': endpoint, 'method': request.method, 'consumer': request.headers.get('X-Consumer-Name')}
    if ECHO_HEADERS:
        out['headers'] = {k.lower(): v for k, v in request.headers.items()}
    body = json.dumps(out)
    return Response(body, content_type='application/json', headers={'x-handler': endpoint})

class HTTPMethodOverrideMiddleware:
    # The widely copied Flask snippet (flask.pocoo.org/snippets/1), reading every common header name:
    # applied on any method, so a GET becomes whatever the header says.
    allowed = frozenset(['GET', 'HEAD', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS'])
    def __init__(self, app):
        self.app = app
    def __call__(self, environ, start_response):
        for key in ('HTTP_X_HTTP_METHOD_OVERRIDE', 'HTTP_X_HTTP_METHOD', 'HTTP_X_METHOD_OVERRIDE', 'HTTP_X_ORIGINAL_METHOD'):
            method = environ.get(key, '').upper()
            if method in self.allowed:
                environ['REQUEST_METHOD'] = method
        return self.app(environ, start_response)

wsgi = HTTPMethodOverrideMiddleware(app) if 'method-override' in sys.argv else app
server = make_server('127.0.0.1', 0, wsgi, threaded=True, request_handler=Quiet)
print(server.server_port, flush=True)
server.serve_forever()
`;

export interface WerkzeugOptions {
  /** Wrap the app in Flask's HTTPMethodOverrideMiddleware snippet (X-HTTP-Method-Override and its variants). */
  methodOverride?: boolean;
  /** Add the request headers the app received to each answer, as `headers` (names lower-cased). */
  echoHeaders?: boolean;
}

export async function startWerkzeugUpstream(options: WerkzeugOptions = {}): Promise<WerkzeugUpstream> {
  const args = ['-c', APP, ...(options.methodOverride ? ['method-override'] : []), ...(options.echoHeaders ? ['echo-headers'] : [])];
  const child: ChildProcess = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(Number(out.split('\n')[0]));
    });
    child.once('exit', (code) => reject(new Error(`python3 werkzeug exited (${code}): ${stderr}`)));
    child.once('error', reject);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async seen() {
      const res = await fetch(`${url}/__seen`);
      return (await res.json()) as string[];
    },
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
