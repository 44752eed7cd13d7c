/** The one ajv instance config validation uses, with the formats our schemas name. */
import { Ajv, type ErrorObject } from 'ajv';
import { isIP } from 'node:net';
import { isCidr } from '../net/ip.js';
import { isDuration, isSize, isTimer } from './units.js';

export const FORMAT_HINTS: Record<string, string> = {
  duration: 'expected a duration like "250ms", "5s", "1m", "1h" or "1d"',
  timer: 'expected a duration of at most 24d (the longest a Node timer waits) like "250ms", "5s" or "1m"',
  size: 'expected a size like "512KiB", "1MiB" or a number of bytes',
  cidr: 'expected an IP address or CIDR block like "10.0.0.0/8" or "2001:db8::/32"',
  'listen-address': 'expected host:port like "0.0.0.0:8080" or "[::]:8443"',
  'upstream-url': 'expected a URL like "http://10.0.0.5:8080" (http or https, no query, no credentials)',
  'route-host': 'expected a host name like "api.example.com" or "*.example.com"',
  'route-path': 'expected a path like "/v1/orders", "= /exact" or "~ ^/regex$"',
  uri: 'expected an absolute URL',
};

export function parseListenAddress(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  if (m[1] !== undefined && isIP(host) !== 6) return undefined;
  return { host, port };
}

/** "api.example.com" or "*.example.com", lower-cased, no port. */
function isValidRouteHost(text: string): boolean {
  return /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(text);
}

function isUpstreamUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password && !url.search && !url.hash;
  } catch {
    return false;
  }
}

function isRoutePath(text: string): boolean {
  const t = text.trim();
  return t.startsWith('/') || t.startsWith('=') || t.startsWith('~');
}

function isUri(text: string): boolean {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

export const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: true, strict: true, allowUnionTypes: true });
ajv.addKeyword({ keyword: 'x-secret', schemaType: 'boolean' });
ajv.addFormat('duration', { type: 'string', validate: isDuration });
ajv.addFormat('timer', { type: 'string', validate: isTimer });
ajv.addFormat('size', { type: 'string', validate: (s: string) => isSize(s) });
ajv.addFormat('cidr', { type: 'string', validate: isCidr });
ajv.addFormat('listen-address', { type: 'string', validate: (s: string) => parseListenAddress(s) !== undefined });
ajv.addFormat('upstream-url', { type: 'string', validate: isUpstreamUrl });
ajv.addFormat('route-host', { type: 'string', validate: isValidRouteHost });
ajv.addFormat('route-path', { type: 'string', validate: isRoutePath });
ajv.addFormat('uri', { type: 'string', validate: isUri });

export type { ErrorObject };
