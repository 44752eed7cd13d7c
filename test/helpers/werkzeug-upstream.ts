/**
 * A real Werkzeug upstream (Debian python3-werkzeug) on 127.0.0.1, port 0:
 * Werkzeug's own routing and development server, which upper-case the method
 * (werkzeug.sansio.request: `self.method = method.upper()`), as Flask apps
 * behind a gateway see it. Each rule answers JSON naming the handler that ran,
 * the method it read and the consumer the gateway named, plus a header that
 * shows on HEAD too; every request is counted by method and path.
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
    body = json.dumps({'handler': endpoint, 'method': request.method, 'consumer': request.headers.get('X-Consumer-Name')})
    return Response(body, content_type='application/json', headers={'x-handler': endpoint})

server = make_server('127.0.0.1', 0, app, threaded=True, request_handler=Quiet)
print(server.server_port, flush=True)
server.serve_forever()
`;

export async function startWerkzeugUpstream(): Promise<WerkzeugUpstream> {
  const child: ChildProcess = spawn('/usr/bin/python3', ['-c', APP], { stdio: ['ignore', 'pipe', 'pipe'] });
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
