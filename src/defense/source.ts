/**
 * The "source" a detection keyed by `ip` counts under: an IPv4 client is its
 * address; an IPv6 client is its network of `defense.ipv6_prefix` bits (/64
 * by default). One IPv6 subscriber or host is handed a whole /64 (SLAAC,
 * privacy addresses, a /64 per VM): counted per address, it could send each
 * try from a fresh address and never cross a threshold. The source is
 * written in one canonical spelling (lower case, RFC 5952 zero compression,
 * IPv4-mapped forms unmapped), so no spelling of an address counts apart.
 *
 * Addresses whose network is not one subscriber's are still counted one by
 * one: ::/64 holds the loopback, the unspecified address, IPv4-compatible
 * and IPv4-mapped space (a block of it would reach every IPv4 client);
 * fe80::/10 is link-local (every host of a link shares fe80::/64); NAT64
 * (64:ff9b::/96, 64:ff9b:1::/48) puts every IPv4 client behind a translator
 * (SIIT-DC) in one /64; Teredo (2001::/32) puts every client of one Teredo
 * server in one /64, its own IPv4 address in the low bits.
 */
import { isIPv4 } from 'node:net';
import { canonicalAddress } from './deny-list.js';

export const DEFAULT_IPV6_PREFIX = 64;

/** The source of `ip` (an address, or an IPv6 network "a::/n"), or undefined when it is no address. */
export function sourceOf(ip: string, ipv6Prefix: number): string | undefined {
  const address = canonicalAddress(ip);
  if (address === undefined || isIPv4(address) || ipv6Prefix >= 128) return address;
  if (!aggregates(expand(address))) return address;
  return networkOf(address, ipv6Prefix);
}

/** The prefix length of a source: 32 or 128 for an address, n for "a/n". */
export function sourceBits(source: string): number {
  const slash = source.indexOf('/');
  if (slash !== -1) return Number(source.slice(slash + 1));
  return source.includes(':') ? 128 : 32;
}

/** ::/64, link-local fe80::/10, NAT64 64:ff9b::/32 and Teredo 2001::/32 are counted per address: their /64 is many clients'. */
function aggregates(groups: readonly number[]): boolean {
  const [a = 0, b = 0, c = 0, d = 0] = groups;
  if (a === 0 && b === 0 && c === 0 && d === 0) return false;
  if ((a & 0xffc0) === 0xfe80) return false;
  if (a === 0x64 && b === 0xff9b) return false;
  return !(a === 0x2001 && b === 0);
}

/** A canonical IPv6 address (hex groups, at most one "::", no dotted tail) as eight 16-bit numbers. */
function expand(address: string): number[] {
  const double = address.indexOf('::');
  const part = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  if (double === -1) return part(address);
  const left = part(address.slice(0, double));
  const right = part(address.slice(double + 2));
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** The network of `bits` around a canonical address, host bits cleared: "2001:db8:1:2::/64", "203.0.113.0/24"; the address itself at full length. */
export function networkOf(address: string, bits: number): string {
  if (isIPv4(address)) {
    if (bits >= 32) return address;
    const n = address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
    const masked = bits === 0 ? 0 : (n - (n % 2 ** (32 - bits)));
    return `${[24, 16, 8, 0].map((shift) => Math.floor(masked / 2 ** shift) % 256).join('.')}/${bits}`;
  }
  if (bits >= 128) return address;
  return `${canonicalAddress(mask(expand(address), bits).map((g) => g.toString(16)).join(':'))}/${bits}`;
}

function mask(groups: readonly number[], bits: number): number[] {
  return groups.map((g, i) => {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    return keep === 0 ? 0 : g & ((0xffff << (16 - keep)) & 0xffff);
  });
}
