import { BlockList } from 'node:net';
/**
 * What an automatic defense action is, as the store, the pub/sub messages,
 * the admin API and the audit trail carry it. Whatever arrives from outside
 * this process (a pub/sub message, a store read, an admin request) passes
 * parseAction: bounded fields, known kinds, a target that parses.
 */
import { randomBytes } from 'node:crypto';
import { canonicalAddress } from './deny-list.js';
import { networkOf } from './source.js';

export type ActionKind = 'block' | 'suspend' | 'tighten' | 'require';
export type ActionScope = 'ip' | 'consumer' | 'credential';
export type RequirePolicy = 'mtls' | 'retry_later';

export interface DefenseAction {
  readonly id: string;
  readonly kind: ActionKind;
  /** block: always ip (an address or a CIDR block); the others: what the target names. */
  readonly scope: ActionScope;
  /** An address or CIDR block (ip), a consumer name, a credential id. */
  readonly target: string;
  /** Epoch ms. */
  readonly createdAt: number;
  readonly expiresAt: number;
  /** "detection:<name>", "admin:<who>". */
  readonly by: string;
  readonly reason: string;
  /** tighten: requests per perMs. */
  readonly limit?: number;
  readonly perMs?: number;
  /** require: what. */
  readonly policy?: RequirePolicy;
  /** The detection's repeat count for this key (escalation). */
  readonly strike?: number;
}

export const MAX_ACTION_MS = 30 * 86_400_000;
const ID = /^[0-9a-f]{16,32}$/;
const TEXT_MAX = 200;
const TARGET_MAX = 256;

export function newActionId(): string {
  return randomBytes(8).toString('hex');
}

/** A block's target in canonical form (an address, or a network "a/n"), or undefined when it is neither. */
export function canonicalBlockTarget(target: string): string | undefined {
  const [raw = '', bits, extra] = target.trim().split('/');
  if (extra !== undefined) return undefined;
  const address = canonicalAddress(raw);
  if (address === undefined) return undefined;
  if (bits === undefined) return address;
  const max = address.includes(':') ? 128 : 32;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max || Number(bits) < (max === 32 ? 8 : 16)) return undefined;
  // IPv4 clients match IPv4-mapped IPv6 networks too (::ffff:0:0/96): an IPv6 block reaching into that
  // range is an IPv4 block in disguise, past the /8 rule (::/16 would block all of IPv4). Written as IPv4 or not at all.
  if (max === 128 && coversMappedAddresses(address, Number(bits))) return undefined;
  // Host bits cleared: one network has one spelling, so a second block of it is found, and a lift by target finds it.
  return networkOf(address, Number(bits));
}

/** The action, checked, or a message saying what is wrong with it. */
export function parseAction(value: unknown): DefenseAction | string {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || !ID.test(v.id)) return 'id: 16 to 32 hex digits';
  if (v.kind !== 'block' && v.kind !== 'suspend' && v.kind !== 'tighten' && v.kind !== 'require') return 'kind: block, suspend, tighten or require';
  if (v.scope !== 'ip' && v.scope !== 'consumer' && v.scope !== 'credential') return 'scope: ip, consumer or credential';
  if (v.kind === 'block' && v.scope !== 'ip') return 'a block is on an ip';
  if (typeof v.target !== 'string' || v.target.length === 0 || v.target.length > TARGET_MAX || /[\x00-\x1f\x7f]/.test(v.target)) return 'target: 1 to 256 printable characters';
  let target = v.target;
  if (v.scope === 'ip') {
    const canonical = canonicalBlockTarget(target);
    if (canonical === undefined) return 'target: an IP address or a CIDR block (/8 or longer for IPv4, /16 or longer for IPv6)';
    // tighten and require may name an IPv6 source network (source.ts); an IPv4 one is always one address.
    if (v.kind !== 'block' && canonical.includes('/') && !canonical.includes(':')) return 'target: one address, or an IPv6 network';
    target = canonical;
  }
  if (!isTime(v.createdAt) || !isTime(v.expiresAt) || v.expiresAt <= v.createdAt || v.expiresAt - v.createdAt > MAX_ACTION_MS) return 'expiresAt: after createdAt, at most 30 days later';
  if (typeof v.by !== 'string' || v.by.length > TEXT_MAX) return 'by: at most 200 characters';
  if (typeof v.reason !== 'string' || v.reason.length > TEXT_MAX) return 'reason: at most 200 characters';
  const action: DefenseAction = { id: v.id, kind: v.kind, scope: v.scope, target, createdAt: v.createdAt, expiresAt: v.expiresAt, by: clean(v.by), reason: clean(v.reason) };
  if (v.kind === 'tighten') {
    if (!isCount(v.limit) || !isCount(v.perMs)) return 'tighten: limit and perMs, positive integers';
    return { ...action, limit: v.limit, perMs: v.perMs, strike: strikeOf(v.strike) };
  }
  if (v.kind === 'require') {
    if (v.policy !== 'mtls' && v.policy !== 'retry_later') return 'require: policy mtls or retry_later';
    return { ...action, policy: v.policy, strike: strikeOf(v.strike) };
  }
  return { ...action, strike: strikeOf(v.strike) };
}

function clean(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, ' ');
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= 86_400_000;
}

function strikeOf(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= 1_000_000 ? v : undefined;
}

const MAPPED = new BlockList();
MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

/** Whether an IPv6 network holds IPv4-mapped addresses: it starts inside ::ffff:0:0/96, or is wide enough to hold all of it. */
function coversMappedAddresses(network: string, bits: number): boolean {
  if (MAPPED.check(network, 'ipv6')) return true;
  if (bits > 96) return false;
  const list = new BlockList();
  list.addSubnet(network, bits, 'ipv6');
  return list.check('::ffff:0.0.0.0', 'ipv6');
}
