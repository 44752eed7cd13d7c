/**
 * The gateway's own health endpoint (gateway.health_path): answered on every
 * listener before routing, never shed, never access-logged, never proxied.
 * 200 {"status":"ok"} while serving, 503 {"status":"draining"} once a
 * graceful shutdown has begun, so load balancers stop sending traffic.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const OK = JSON.stringify({ status: 'ok' });
const DRAINING = JSON.stringify({ status: 'draining' });

export function isHealthCheck(req: IncomingMessage, path: string): boolean {
  const url = req.url ?? '';
  if (!url.startsWith(path)) return false;
  const rest = url.length - path.length;
  return (rest === 0 || url.charCodeAt(path.length) === 0x3f) && (req.method === 'GET' || req.method === 'HEAD');
}

export function answerHealth(res: ServerResponse, draining: boolean): void {
  const body = draining ? DRAINING : OK;
  res.writeHead(draining ? 503 : 200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
