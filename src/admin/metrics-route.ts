/** GET /metrics: the Prometheus text of the gateway's registry, behind the bearer token when one is configured. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayMetrics } from '../telemetry/metrics/index.js';
import { bearerMatches } from './auth.js';
import { answer, type AdminHandler } from './server.js';

export function metricsRoute(metrics: () => GatewayMetrics | undefined, tokenDigest: () => string | undefined): AdminHandler {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const digest = tokenDigest();
    if (digest !== undefined && !bearerMatches(req, digest)) {
      answer(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer realm="portcullis-admin"' });
      return;
    }
    const m = metrics();
    if (m === undefined) {
      answer(res, 404, { error: 'metrics_off' });
      return;
    }
    const text = await m.render();
    res.writeHead(200, { 'content-type': m.contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
}
