/** GET /metrics: the Prometheus text of the gateway's registry, behind the bearer token when one is configured. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayMetrics } from '../telemetry/metrics/index.js';
import { bearerMatches } from './auth.js';
import { answer, type AdminHandler } from './server.js';

export function metricsRoute(metrics: () => GatewayMetrics | undefined, tokenDigest: () => string | undefined): AdminHandler {
  // Scrapes that arrive while one is being rendered share its text: a client scraping in a loop costs one render at a time.
  let rendering: { of: GatewayMetrics; text: Promise<string> } | undefined;
  const render = (m: GatewayMetrics): Promise<string> => {
    if (rendering?.of === m) return rendering.text;
    const text = m.render().finally(() => (rendering = undefined));
    rendering = { of: m, text };
    return text;
  };
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
    const text = await render(m);
    res.writeHead(200, { 'content-type': m.contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
}
