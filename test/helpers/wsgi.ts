/**
 * A real WSGI upstream: Python's own wsgiref server on 127.0.0.1, port 0,
 * answering every request with the CGI-style environ it built (the HTTP_*
 * variables) as JSON. CGI, WSGI, Rack and PHP turn header names into
 * variables by upper-casing them and changing "-" to "_", so "X-Consumer-Name"
 * and "X_Consumer_Name" both become HTTP_X_CONSUMER_NAME: what such an
 * application believes is what this server shows.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface WsgiUpstream {
  url: string;
  close(): Promise<void>;
}

const APP = `
import json, sys
from wsgiref.simple_server import make_server, WSGIRequestHandler

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

def app(environ, start_response):
    body = json.dumps({k: v for k, v in environ.items() if k.startswith('HTTP_')}).encode()
    start_response('200 OK', [('content-type', 'application/json'), ('content-length', str(len(body)))])
    return [body]

server = make_server('127.0.0.1', 0, app, handler_class=Quiet)
print(server.server_port, flush=True)
server.serve_forever()
`;

export async function startWsgiUpstream(): Promise<WsgiUpstream> {
  const child: ChildProcess = spawn('python3', ['-c', APP], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve(Number(line));
    });
    child.once('exit', (code) => reject(new Error(`python3 wsgiref exited (${code}): ${stderr}`)));
    child.once('error', reject);
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
