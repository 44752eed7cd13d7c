/**
 * IP addresses and CIDR blocks, shared by config validation, the request path
 * and address-based policies.
 *
 * The real client address: the socket peer, unless the peer is a trusted
 * proxy, in which case X-Forwarded-For is read right to left past every
 * trusted hop. A client can put anything in X-Forwarded-For; only hops added
 * by proxies we trust are believed.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) addCidr(this.list, cidr);
    this.empty = cidrs.length === 0;
  }

  trusts(ip: string): boolean {
    if (this.empty) return false;
    return isIPv4(ip) ? this.list.check(ip, 'ipv4') : isIPv6(ip) && this.list.check(ip, 'ipv6');
  }

  /** The client address for a request from `peer` carrying `forwardedFor`. */
  clientIp(peer: string, forwardedFor: string | undefined): string {
    if (forwardedFor === undefined || !this.trusts(peer)) return peer;
    const hops = forwardedFor.split(',');
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = unmapIPv4(stripPort(hops[i]!.trim()));
      // garbage: stop at the last address we could read. A zone id (fe80::1%eth0, which node:net accepts
      // with anything after the %) names an interface of the sender's host, never a client on the Internet.
      if ((!isIPv4(hop) && !isIPv6(hop)) || hop.includes('%')) return client;
      client = hop;
      if (!this.trusts(hop)) return hop;
    }
    return client;
  }
}

/** Adds "10.0.0.0/8", "2001:db8::/32" or a bare address to a BlockList; throws on bad input. */
export function addCidr(list: BlockList, cidr: string): void {
  const [address = '', bits] = cidr.split('/');
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (!family) throw new Error(`${JSON.stringify(cidr)} is not an IP address or CIDR block`);
  const max = family === 'ipv4' ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
    throw new Error(`${JSON.stringify(cidr)} has an invalid prefix length`);
  }
  list.addSubnet(address, prefix, family);
}

export function isCidr(text: string): boolean {
  try {
    addCidr(new BlockList(), text);
    return true;
  } catch {
    return false;
  }
}

/** "::ffff:10.0.0.1" → "10.0.0.1", so one rule covers both forms. */
export function unmapIPv4(ip: string): string {
  return ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

function stripPort(hop: string): string {
  if (hop.startsWith('[')) {
    const end = hop.indexOf(']');
    return end === -1 ? hop : hop.slice(1, end);
  }
  const colon = hop.indexOf(':');
  return colon !== -1 && hop.indexOf(':', colon + 1) === -1 ? hop.slice(0, colon) : hop;
}
