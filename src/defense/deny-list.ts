/**
 * The dynamic deny list: addresses and networks refused for a while, fed at
 * run time (by automatic defense, the admin API, an operator) rather than by
 * the config. One per gateway process, shared by every config snapshot, so a
 * reload keeps it. The ip-restriction policy consults it.
 *
 * Exact addresses are a map lookup; networks sit in a node:net BlockList
 * rebuilt when they change or expire. Entries expire lazily: a lookup never
 * waits on a timer.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { unmapIPv4 } from '../net/ip.js';
import { DenyListFullError } from '../errors.js';

/** A dotted IPv4 address in canonical form (no leading zeros, each part at most 255): a char scan, cheaper than a parse. */
function plainIPv4(ip: string): boolean {
  const n = ip.length;
  if (n < 7 || n > 15) return false;
  let dots = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < n; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return false;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return false; // a leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return false;
    } else {
      return false;
    }
  }
  return dots === 3 && digits > 0;
}

export interface DenyEntry {
  /** An address ("203.0.113.7", "2001:db8::1") or a network ("203.0.113.0/24"). */
  readonly target: string;
  /** Epoch milliseconds; Infinity for an entry that stays until removed. */
  readonly expiresAt: number;
  readonly reason: string | undefined;
}

export interface DenyListOptions {
  /** The most entries held; add() refuses more (default 100,000). */
  readonly maxEntries?: number;
  /** The clock, for tests. */
  readonly now?: () => number;
}

interface Network {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
  readonly entry: DenyEntry;
}

export class DynamicDenyList {
  private readonly addresses = new Map<string, DenyEntry>();
  private readonly networks = new Map<string, Network>();
  private blockList: BlockList | undefined = undefined;
  private nextNetworkExpiry = Infinity;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: DenyListOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.addresses.size + this.networks.size;
  }

  /**
   * Denies an address or network for `ttlMs` milliseconds (for good when
   * left out). Adding an entry again replaces it. Throws on input that is not
   * an address or CIDR block, and DenyListFullError when full.
   */
  add(target: string, ttlMs?: number, reason?: string): DenyEntry {
    if (ttlMs !== undefined && !(ttlMs > 0)) throw new Error(`ttl must be a positive number of milliseconds, got ${ttlMs}`);
    const parsed = parseTarget(target);
    const expiresAt = ttlMs === undefined ? Infinity : this.now() + ttlMs;
    const entry: DenyEntry = { target: parsed.key, expiresAt, reason };
    const exists = parsed.exact ? this.addresses.has(parsed.key) : this.networks.has(parsed.key);
    if (!exists && this.size >= this.maxEntries) {
      this.purge();
      if (this.size >= this.maxEntries) throw new DenyListFullError(this.maxEntries);
    }
    if (parsed.exact) {
      this.addresses.set(parsed.key, entry);
    } else {
      this.networks.set(parsed.key, { address: parsed.address, prefix: parsed.prefix, family: parsed.family, entry });
      this.blockList = undefined;
      if (expiresAt < this.nextNetworkExpiry) this.nextNetworkExpiry = expiresAt;
    }
    return entry;
  }

  /** Removes an entry added as `target`; true when there was one. */
  remove(target: string): boolean {
    const parsed = parseTarget(target);
    if (parsed.exact) return this.addresses.delete(parsed.key);
    const removed = this.networks.delete(parsed.key);
    if (removed) this.blockList = undefined;
    return removed;
  }

  /** Is this client address denied right now? Never throws: anything unparsable is not denied. */
  has(ip: string): boolean {
    // A plain dotted IPv4 address (what nearly every lookup is) is its own canonical form: skip the parse.
    const address = plainIPv4(ip) ? ip : canonicalAddress(ip);
    if (address === undefined) return false;
    if (this.addresses.size > 0) {
      const entry = this.addresses.get(address);
      if (entry) {
        if (entry.expiresAt > this.now()) return true;
        this.addresses.delete(address);
      }
    }
    if (this.networks.size === 0) return false;
    if (this.now() >= this.nextNetworkExpiry) this.purgeNetworks();
    if (this.networks.size === 0) return false;
    this.blockList ??= this.buildBlockList();
    return this.blockList.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
  }

  /** Every entry still in force. */
  entries(): DenyEntry[] {
    this.purge();
    return [...this.addresses.values(), ...[...this.networks.values()].map((n) => n.entry)];
  }

  clear(): void {
    this.addresses.clear();
    this.networks.clear();
    this.blockList = undefined;
    this.nextNetworkExpiry = Infinity;
  }

  private purge(): void {
    const now = this.now();
    for (const [key, entry] of this.addresses) if (entry.expiresAt <= now) this.addresses.delete(key);
    this.purgeNetworks();
  }

  private purgeNetworks(): void {
    const now = this.now();
    let next = Infinity;
    for (const [key, network] of this.networks) {
      if (network.entry.expiresAt <= now) {
        this.networks.delete(key);
        this.blockList = undefined;
      } else if (network.entry.expiresAt < next) {
        next = network.entry.expiresAt;
      }
    }
    this.nextNetworkExpiry = next;
  }

  private buildBlockList(): BlockList {
    const list = new BlockList();
    for (const network of this.networks.values()) list.addSubnet(network.address, network.prefix, network.family);
    return list;
  }
}

type Target = { exact: true; key: string } | { exact: false; key: string; address: string; prefix: number; family: 'ipv4' | 'ipv6' };

function parseTarget(target: string): Target {
  const [raw = '', bits] = target.trim().split('/');
  const address = canonicalAddress(raw);
  if (address === undefined) throw new Error(`${JSON.stringify(target)} is not an IP address or CIDR block`);
  const family = isIPv4(address) ? 'ipv4' : 'ipv6';
  const max = family === 'ipv4' ? 32 : 128;
  if (bits === undefined) return { exact: true, key: address };
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) throw new Error(`${JSON.stringify(target)} has an invalid prefix length`);
  const prefix = Number(bits);
  if (prefix === max) return { exact: true, key: address };
  return { exact: false, key: `${address}/${prefix}`, address, prefix, family };
}

/** One spelling per address: IPv4-mapped IPv6 unmapped, IPv6 in RFC 5952 form. */
export function canonicalAddress(ip: string): string | undefined {
  const trimmed = ip.trim();
  // A zone id (%eth0) names the local interface, not another address: ::ffff:198.51.100.7%eth0 is 198.51.100.7.
  const zone = trimmed.indexOf('%');
  const unmapped = unmapIPv4(zone === -1 ? trimmed : trimmed.slice(0, zone));
  if (isIPv4(unmapped)) return unmapped;
  if (!isIPv6(unmapped)) return undefined;
  const v6 = canonicalIPv6(unmapped.toLowerCase());
  if (v6 === undefined) return undefined;
  // The hex spelling of an IPv4-mapped address (::ffff:cb00:7107) is the IPv4 client too: one spelling, one key, one ban.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (mapped) {
    const hi = parseInt(mapped[1]!, 16);
    const lo = parseInt(mapped[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return v6;
}

/** RFC 5952 form of an address node:net accepts as IPv6 (without a zone id); undefined if it does not expand to eight groups. */
function canonicalIPv6(ip: string): string | undefined {
  // expand to eight groups
  let groups: string[];
  const v4 = ip.includes('.') ? ip.slice(ip.lastIndexOf(':') + 1) : undefined;
  let head = v4 ? ip.slice(0, ip.lastIndexOf(':') + 1) + '0:0' : ip;
  if (v4) {
    const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
    head = head.slice(0, -3) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const double = head.indexOf('::');
  if (double === -1) {
    groups = head.split(':');
  } else {
    const left = head.slice(0, double).split(':').filter((g) => g !== '');
    const right = head.slice(double + 2).split(':').filter((g) => g !== '');
    if (left.length + right.length > 7) return undefined;
    groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  }
  if (groups.length !== 8) return undefined;
  const parts = groups.map((g) => parseInt(g, 16).toString(16));
  // RFC 5952: compress the longest run of two or more zero groups, the first one on a tie
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart === -1) return parts.join(':');
  return `${parts.slice(0, bestStart).join(':')}::${parts.slice(bestStart + bestLength).join(':')}`;
}
