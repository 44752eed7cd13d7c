/**
 * tenant-gate: lets through only requests naming a known tenant, and tells
 * the upstream which tenant it is in a header the client cannot forge.
 */
import { Type } from '@sinclair/typebox';
import { ConfigError } from '../../src/config/errors.js';
import { deny } from '../../src/pipeline/decision.js';
import { definePolicy } from '../../src/pipeline/policy.js';

export const TenantGateSchema = Type.Object({
  header: Type.String({ default: 'x-tenant', minLength: 1, description: 'the request header that names the tenant' }),
  tenants: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'the tenants let through' }),
  upstream_header: Type.String({
    default: 'x-tenant-checked',
    minLength: 1,
    description: "the header the upstream receives the checked tenant in; the client's own is replaced",
  }),
  status: Type.Integer({ minimum: 400, maximum: 499, default: 403, description: 'the status of a refused request' }),
});

export default definePolicy({
  name: 'tenant-gate',
  phase: 'screen',
  description: 'Lets through requests that name a known tenant, and passes the tenant upstream.',
  config: TenantGateSchema,
  compile(config) {
    // Cross-field checks run once, at load: a ConfigError names the setting.
    config.tenants.forEach((tenant, i) => {
      if (config.tenants.indexOf(tenant) !== i) throw new ConfigError(`"${tenant}" is listed twice`, ['tenants', i]);
    });
    const header = config.header.toLowerCase();
    const known = new Set(config.tenants);
    const missing = deny('client_forbidden', { status: config.status,
      event: { type: 'policy.refused', severity: 'low', reason: 'missing_tenant', message: `no ${header} header` },
    });
    return {
      onRequest(ctx) {
        const tenant = ctx.header(header);
        if (tenant === undefined) return missing;
        if (!known.has(tenant)) {
          return deny('client_forbidden', { status: config.status,
            event: { type: 'policy.refused', severity: 'medium', reason: 'unknown_tenant', data: { value: tenant.slice(0, 64) } },
          });
        }
        ctx.setUpstreamHeader(config.upstream_header, tenant);
        return undefined;
      },
      onResponse(ctx) {
        // Runs for the upstream's answer and for the gateway's own (this policy's refusals too).
        ctx.response.headers.vary = ctx.response.headers.vary ? `${String(ctx.response.headers.vary)}, ${header}` : header;
      },
    };
  },
});
