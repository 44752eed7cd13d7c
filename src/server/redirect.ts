/**
 * The answer of an http listener with `redirect_to`: 308 (method and body
 * kept) to the same host and target on the https listener. The Host header
 * is checked to be a host name or an IP address: it is written into the
 * Location, and a redirect to an attacker-chosen place must not be possible
 * by anything but naming that place as the host.
 */
import { isIP } from 'node:net';
import { hostWithoutPort } from './framing.js';

const HOST_NAME = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.?$/;

/** `port()` is where the https listener is reached (undefined while it is not open). */
export function redirector(port: () => number | undefined): (host: string | undefined, target: string) => string | undefined {
  return (host, target) => {
    const name = hostWithoutPort(host);
    const family = isIP(name);
    if (name === '' || (family === 0 && !HOST_NAME.test(name))) return undefined;
    const p = port();
    if (p === undefined) return undefined;
    const authority = (family === 6 ? `[${name}]` : name) + (p === 443 ? '' : `:${p}`);
    return `https://${authority}${target.charCodeAt(0) === 0x2f ? target : '/'}`;
  };
}
