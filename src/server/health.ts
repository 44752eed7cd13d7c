/**
 * The gateway's own probe endpoints, answered on every listener before
 * routing, never shed, never access-logged, never proxied:
 * - readiness (gateway.health_path): 200 {"status":"ok"}; 503
 *   {"status":"draining"} once a graceful shutdown has begun, so load
 *   balancers stop sending traffic; 503 {"status":"not_ready"} while a
 *   dependency is missing (the store, a provider a route needs; src/readiness.ts).
 *   Which dependency is said only on the admin listener's /readyz.
 * - liveness (gateway.liveness_path): 200 {"status":"ok"} whenever the
 *   process answers at all, draining or not.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type HealthStatus = 'ok' | 'draining' | 'not_ready';

/** How the listener learns readiness (src/readiness.ts through the gateway). */
export type ReadinessProbe = () => Promise<{ readonly status: HealthStatus }>;

const BODIES: Record<HealthStatus, string> = {
  ok: JSON.stringify({ status: 'ok' }),
  draining: JSON.stringify({ status: 'draining' }),
  not_ready: JSON.stringify({ status: 'not_ready' }),
};

export function isHealthCheck(req: IncomingMessage, path: string): boolean {
  const url = req.url ?? '';
  if (!url.startsWith(path)) return false;
  const rest = url.length - path.length;
  return (rest === 0 || url.charCodeAt(path.length) === 0x3f) && (req.method === 'GET' || req.method === 'HEAD');
}

export function answerHealth(res: ServerResponse, status: HealthStatus): void {
  const body = BODIES[status];
  res.writeHead(status === 'ok' ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Answers readiness once it is known; a probe that fails to answer counts as not ready, never as a 500. */
export function answerReadiness(res: ServerResponse, probe: ReadinessProbe): void {
  probe().then(
    (r) => answerHealth(res, r.status),
    () => answerHealth(res, 'not_ready'),
  );
}
