/**
 * The quick start's demo upstream: a small HTTP service that answers every
 * request with what it received, so a newcomer can see what the gateway
 * forwarded (the consumer headers, the request id, the normalized path).
 */
import { createServer, type Server } from 'node:http';

export async function startDemoUpstream(host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    // Every header, so that what the gateway removed (the API key) is seen to be absent.
    const headers = req.headers;
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ service: 'demo', method: req.method, path: req.url, headers }, null, 2) + '\n';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
