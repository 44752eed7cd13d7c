/**
 * Whether an address can be listened on, asked before anything running is
 * closed: a reload whose new listener cannot open is refused while the old
 * listeners still serve (gateway.ts, the workers' supervisor).
 */
import { createServer, isIP } from 'node:net';

export interface BindAddress {
  readonly host: string;
  readonly port: number;
}

/** How long a try may take (a host name is resolved first; a resolver that does not answer must not hold a reload). */
const BIND_TIMEOUT_MS = 10_000;

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/**
 * Two addresses that cannot both be listened on: the same port (not 0, which
 * is any free one) and the same host, or a wildcard host on either side (it
 * takes the port on every address of the host).
 */
export function overlaps(a: BindAddress, b: BindAddress): boolean {
  if (a.port === 0 || a.port !== b.port) return false;
  const x = canonical(a.host), y = canonical(b.host);
  return x === y || WILDCARDS.has(x) || WILDCARDS.has(y);
}

/**
 * One spelling per address the system binds alike: `::0` and `0:0::` are
 * `::`, and an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is its IPv4
 * address, which a dual-stack socket takes (red team, session 8: they read
 * as other addresses, so the gateway's own listener was "another process").
 */
/** The same host, whatever the spelling (see canonical). */
export function sameHost(a: string, b: string): boolean {
  return canonical(a) === canonical(b);
}

function canonical(host: string): string {
  const h = host.toLowerCase();
  if (isIP(h) !== 6) return h;
  const mapped = /^(?:0{0,4}:){0,5}ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h.replace(/^::/, '0:'));
  if (mapped && isIP(mapped[1]!) === 4) return mapped[1]!;
  const hex = /^(?:0{0,4}:){0,5}ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h.replace(/^::/, '0:'));
  if (hex) {
    const [hi, lo] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return /^[0:]+$/.test(h) ? '::' : h;
}

/**
 * Listens on the address and lets go at once: undefined when that worked,
 * else the system's error (EADDRINUSE, EADDRNOTAVAIL, EACCES, ENOTFOUND...).
 * A connection that arrives in that instant is closed. In a node:cluster
 * worker the listen is the primary's, as the real one would be.
 */
export function tryBind(address: BindAddress, timeoutMs = BIND_TIMEOUT_MS): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.destroy());
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      resolve(Object.assign(new Error(`could not listen within ${timeoutMs / 1000}s`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    server.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err);
    });
    server.listen(address.port, address.host, () => {
      clearTimeout(timer);
      // Past the timeout the answer was given; the socket is let go all the same.
      server.close(() => {
        if (!late) resolve(undefined);
      });
    });
  });
}
