/**
 * acl: allows or denies consumer groups, per route, or per service as a
 * global policy with `services`. Deny wins over allow. A request that reaches
 * it without a consumer (a public route) is refused: 403, never a pass.
 */
import { ConfigError } from '../../config/errors.js';
import { deny } from '../../pipeline/decision.js';
import { definePolicy } from '../../pipeline/policy.js';
import { AclSchema } from './schema.js';

const noConsumer = deny('forbidden', { event: { type: 'authz.no_consumer', severity: 'medium', message: 'acl: no authenticated consumer' } });
const notAllowed = deny('forbidden', { event: { type: 'authz.group_not_allowed', severity: 'medium', message: 'acl: consumer is in no allowed group' } });

export default definePolicy({
  name: 'acl',
  phase: 'authorize',
  description: 'Allows or denies consumer groups on a route, or on a service as a global policy.',
  config: AclSchema,
  compile(config, deps) {
    if (!config.allow && !config.deny) throw new ConfigError('give "allow", "deny" or both');
    if (config.services && deps.route !== undefined) throw new ConfigError('"services" is for global policies; on a route, the acl applies to that route', ['services']);
    const allow = config.allow ? new Set(config.allow) : undefined;
    // One refusal per denied group, built once: the event names the group.
    const refused = config.deny
      ? new Map(config.deny.map((g) => [g, deny('forbidden', { event: { type: 'authz.group_denied', severity: 'medium', message: 'acl: consumer is in a denied group', data: { group: g } } })]))
      : undefined;
    const services = config.services ? new Set(config.services) : undefined;
    return {
      onRequest(ctx) {
        if (services && !services.has(ctx.serviceName ?? '')) return undefined;
        const consumer = ctx.consumer;
        if (!consumer) return noConsumer;
        const groups = consumer.groups;
        if (refused) {
          for (const g of groups) {
            const denied = refused.get(g);
            if (denied) return denied;
          }
        }
        if (allow && !groups.some((g) => allow.has(g))) return notAllowed;
        return undefined;
      },
    };
  },
});
