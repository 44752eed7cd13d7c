/**
 * The one way out of a sandbox: fetch() to an origin of the function's
 * allowlist. The origin is checked first, then every address its name
 * resolves to, at connect time (undici's lookup hook): a name that resolves
 * to loopback, link-local (169.254.169.254, the cloud metadata address, among
 * them), an unspecified, multicast or reserved address is refused whatever
 * the allowlist says, and private ranges unless `allow_private`. The check
 * is on the address actually connected to, so DNS rebinding between a check
 * and the connect cannot slip through. No redirects are followed (a
 * redirect is handed back to the function, which may fetch the new origin
 * only if it is allowed too).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, request } from 'undici';
import { unmapIPv4 } from '../net/ip.js';

const ALWAYS_REFUSED = new BlockList();
for (const [net, bits, type] of [
  ['0.0.0.0', 8, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
  ['fd00:ec2::', 32, 'ipv6'],
] as const) ALWAYS_REFUSED.addSubnet(net, bits, type);

const PRIVATE = new BlockList();
for (const [net, bits, type] of [
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['fc00::', 7, 'ipv6'],
] as const) PRIVATE.addSubnet(net, bits, type);

/** Whether a function may connect to this address. */
export function addressAllowed(address: string, allowPrivate: boolean): boolean {
  const ip = unmapIPv4(address);
  const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  if (ALWAYS_REFUSED.check(ip, type)) return false;
  return allowPrivate || !PRIVATE.check(ip, type);
}

export class FetchRefused extends Error {
  constructor(
    readonly reason: 'not_allowed' | 'address_refused' | 'too_many',
    readonly origin: string,
    message: string,
  ) {
    super(message);
  }
}

export interface FetchSettings {
  readonly allow: readonly string[];
  readonly allowPrivate: boolean;
  readonly timeoutMs: number;
  readonly maxBody: number;
}

export interface FetchHead {
  readonly url: string;
  readonly method: string;
  readonly headers: readonly (readonly [string, string])[];
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** An outbound client for one function: its own connection pool, and the address check at every connect. */
export class FunctionFetch {
  private readonly allow: ReadonlySet<string>;
  private readonly agent: Agent;

  constructor(private readonly settings: FetchSettings) {
    this.allow = new Set(settings.allow.map((o) => new URL(o).origin));
    const allowPrivate = settings.allowPrivate;
    const lookup = (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
      dnsLookup(hostname, { all: true }, (err, addresses) => {
        if (err) return callback(err, []);
        const refused = addresses.find((a) => !addressAllowed(a.address, allowPrivate));
        if (refused) {
          const e: NodeJS.ErrnoException = new FetchRefused('address_refused', hostname, `${hostname} resolves to ${refused.address}, which functions may not reach`);
          e.code = 'EADDRREFUSED';
          return callback(e, []);
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      });
    };
    this.agent = new Agent({ connect: { lookup, timeout: settings.timeoutMs }, connections: 16, keepAliveTimeout: 10_000 });
  }

  async fetch(head: FetchHead, body: Uint8Array | undefined, signal: AbortSignal): Promise<{ status: number; headers: [string, string][]; body: Buffer }> {
    let url: URL;
    try {
      url = new URL(head.url);
    } catch {
      throw new FetchRefused('not_allowed', head.url.slice(0, 128), 'fetch: not a URL');
    }
    if (!this.allow.has(url.origin)) throw new FetchRefused('not_allowed', url.origin, `fetch: ${url.origin} is not in this function's fetch.allow`);
    // A literal address never goes through the lookup: check it here.
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal) && !addressAllowed(literal, this.settings.allowPrivate)) {
      throw new FetchRefused('address_refused', url.origin, `fetch: ${literal} is an address functions may not reach`);
    }
    const headers: [string, string][] = head.headers.filter(([k]) => !HOP.has(k.toLowerCase())).map(([k, v]) => [k, v]);
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    let res;
    try {
      res = await request(url, {
        method: head.method,
        headers: headers.flat(),
        body: body ? Buffer.from(body) : undefined,
        dispatcher: this.agent,
        signal: AbortSignal.any([signal, timeout]),
        maxRedirections: 0,
      } as Parameters<typeof request>[1]);
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause ?? err;
      if (cause instanceof FetchRefused) throw cause;
      throw new Error(`fetch failed: ${(err as Error).message}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.settings.maxBody) {
        res.body.destroy();
        throw new Error(`fetch: the response is larger than ${this.settings.maxBody} bytes`);
      }
      chunks.push(chunk);
    }
    const out: [string, string][] = [];
    for (const [k, v] of Object.entries(res.headers)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) out.push([k, one]);
    }
    return { status: res.statusCode, headers: out, body: Buffer.concat(chunks) };
  }

  close(): void {
    void this.agent.close();
  }
}

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'host', 'content-length']);
