/**
 * GET /api/v1/events: the telemetry event bus as server-sent events, for the
 * dashboard's live view. Events on the bus have passed the schema gate
 * (telemetry/redact.ts), so they carry no secret. A slow reader is dropped
 * rather than buffered for (the socket's buffer is the bound), and a stream
 * ends after an hour (the client reconnects) so none is held forever.
 */
import type { TelemetryEvent } from '../../telemetry/event.js';
import type { ApiRoute } from './types.js';

const MAX_BUFFERED = 256 * 1024;
const MAX_STREAM_MS = 60 * 60 * 1000;
const KEEPALIVE_MS = 15_000;

export const eventRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/api/v1/events',
    resource: 'events',
    verb: 'read',
    tag: 'events',
    summary: 'Security and gateway events as they happen (text/event-stream; one JSON event per message)',
    query: [{ name: 'min_severity', description: 'info, low, medium, high or critical (default: every event)' }],
    ok: { status: 200, type: 'text/event-stream', schema: { type: 'string' } },
    handle(call, api) {
      const { req, res } = call;
      const order = ['info', 'low', 'medium', 'high', 'critical'];
      const min = Math.max(0, order.indexOf(call.query.get('min_severity') ?? 'info'));
      req.socket.setTimeout(0);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
      res.write(': portcullis events\n\n');
      const end = () => {
        unsubscribe();
        clearInterval(keepalive);
        clearTimeout(limit);
        res.end();
      };
      const unsubscribe = api.link.telemetry.events.subscribe((event: TelemetryEvent) => {
        if (order.indexOf(event.severity) < min) return;
        if (res.writableLength > MAX_BUFFERED) return end();
        res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      });
      const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
      const limit = setTimeout(end, MAX_STREAM_MS);
      keepalive.unref();
      limit.unref();
      res.on('close', end);
      return Promise.resolve(undefined);
    },
  },
];
