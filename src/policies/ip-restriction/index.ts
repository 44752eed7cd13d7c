/**
 * ip-restriction: allow and deny lists of networks on the real client
 * address (after gateway.trusted_proxies), plus the gateway's dynamic deny
 * list. Deny wins over allow; an empty allow list allows everyone the deny
 * lists do not refuse. Lookups are node:net BlockList checks: no regex, no
 * per-request allocation.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { ConfigError } from '../../config/errors.js';
import { deny } from '../../pipeline/decision.js';
import { definePolicy } from '../../pipeline/policy.js';
import { addCidr, unmapIPv4 } from '../../net/ip.js';
import { IpRestrictionSchema } from './schema.js';

function blockList(cidrs: readonly string[], key: string): BlockList | undefined {
  if (cidrs.length === 0) return undefined;
  const list = new BlockList();
  cidrs.forEach((cidr, i) => {
    try {
      addCidr(list, cidr);
    } catch (err) {
      throw new ConfigError((err as Error).message, [key, i]);
    }
  });
  return list;
}

function contains(list: BlockList, ip: string): boolean {
  if (isIPv4(ip)) return list.check(ip, 'ipv4');
  return isIPv6(ip) && list.check(ip, 'ipv6');
}

export default definePolicy({
  name: 'ip-restriction',
  phase: 'screen',
  description: 'Allows or refuses requests by client IP network (IPv4/IPv6), including the dynamic deny list.',
  config: IpRestrictionSchema,
  compile(config, deps) {
    const allow = blockList(config.allow, 'allow');
    const denied = blockList(config.deny, 'deny');
    const dynamic = config.dynamic ? deps.denyList : undefined;
    const status = config.status;
    const refuse = (type: 'ip.denied' | 'ip.dynamically_denied' | 'ip.not_allowed', message: string, ip: string) =>
      deny('ip_forbidden', { status, event: { type, severity: 'medium', message, data: { ip } } });
    return {
      onRequest(ctx) {
        const ip = unmapIPv4(ctx.clientIp);
        if (denied && contains(denied, ip)) return refuse('ip.denied', 'the client address is on the deny list', ip);
        if (dynamic && dynamic.size > 0 && dynamic.has(ip)) return refuse('ip.dynamically_denied', 'the client address is on the dynamic deny list', ip);
        if (allow && !contains(allow, ip)) return refuse('ip.not_allowed', 'the client address is not on the allow list', ip);
        return undefined;
      },
    };
  },
});
