/**
 * Connection hygiene on a listener: at most `max_connections_per_ip` open
 * connections from one client address (trusted proxies exempt: they carry
 * many clients), at most `max_connections` in all, and a short interval for
 * Node's header and request timeout checks so a slowloris client (one
 * header byte a second) is cut off close to headers_timeout, not up to 30 s
 * later (Node's default interval).
 */
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { RuntimeSettings } from '../snapshot.js';
import { errorBody } from '../errors.js';
import { unmapIPv4 } from '../net/ip.js';
import { poison } from './framing.js';

/** How often Node checks headers_timeout and request_timeout on open connections. */
export const CONNECTIONS_CHECKING_INTERVAL_MS = 500;

/** Refusals are logged at most this often per listener, with a count. */
const LOG_EVERY_MS = 10_000;

export interface ConnectionCounts {
  /** Open connections per client address. */
  readonly perIp: ReadonlyMap<string, number>;
  /** Connections refused for too many from one address, since start. */
  refused: number;
}

/**
 * `server` is where TCP connections arrive (an https listener's TLS server);
 * `refuse` answers a refused one (default: a plain HTTP 429, which only a
 * plaintext listener can speak).
 */
export function limitConnections(
  server: Server,
  settings: () => RuntimeSettings,
  logger: Logger,
  listener: string,
  refuse: (socket: Socket) => void = refuseWith429,
): ConnectionCounts {
  const perIp = new Map<string, number>();
  const counts: ConnectionCounts = { perIp, refused: 0 };
  let lastLog = 0;
  let unlogged = 0;
  server.on('connection', (socket: Socket) => {
    const s = settings();
    const ip = unmapIPv4(socket.remoteAddress ?? '');
    const open = (perIp.get(ip) ?? 0) + 1;
    if (s.maxConnectionsPerIp > 0 && open > s.maxConnectionsPerIp && !s.trustedProxies.trusts(ip)) {
      counts.refused++;
      unlogged++;
      const now = Date.now();
      if (now - lastLog >= LOG_EVERY_MS) {
        logger.warn({ listener, client_ip: ip, limit: s.maxConnectionsPerIp, refused: unlogged }, 'refused connections: too many from one address');
        lastLog = now;
        unlogged = 0;
      }
      refuse(socket);
      return;
    }
    perIp.set(ip, open);
    socket.once('close', () => {
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left <= 0) perIp.delete(ip);
      else perIp.set(ip, left);
    });
  });
  return counts;
}

/** Node takes 0 or unset as "no limit" differently across versions: be explicit. */
export function maxConnectionsFor(settings: RuntimeSettings): number {
  return settings.maxConnections > 0 ? settings.maxConnections : Infinity;
}

function refuseWith429(socket: Socket): void {
  // The HTTP server reads this socket too: whatever the client sends anyway (it may keep its side open
  // after our FIN) is dropped unserved, and the socket is destroyed once the 429 is out.
  poison(socket);
  const body = errorBody(429, 'too_many_connections', 'Too many connections from this address.', '-');
  socket.end(`HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`, () =>
    socket.destroy(),
  );
  socket.setTimeout(1000, () => socket.destroy());
}
