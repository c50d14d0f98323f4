// tenant: the authenticated credential decides the tenant. Requires an identity (401 without
// one), optionally requires scopes (403), and optionally checks that a path parameter naming a
// tenant is the caller's own (403), so a key of tenant A never reaches tenant B's resources.
// The gateway always strips client-sent X-Quant-* headers and sets them from the identity.
//
//   - policy: tenant
//     config: { requireScopes: [work-orders:write], tenantParam: tenantId }
import { GatewayError } from '../errors.ts';
import { definePolicy } from '../contract.ts';

interface TenantConfig {
  requireScopes: string[];
  tenantParam?: string;
}

export const tenantPolicy = definePolicy<TenantConfig>({
  name: 'tenant',
  phase: 'authorize',
  description: 'Requires an authenticated tenant, the route scopes, and tenant-scoped path parameters.',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      requireScopes: {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        uniqueItems: true,
        default: [],
        description: 'Every scope listed must be held by the credential.',
      },
      tenantParam: {
        type: 'string',
        minLength: 1,
        description: 'A path parameter that must equal the caller tenant.',
      },
    },
  },
  checkRoute(route, config) {
    if (config.tenantParam && !route.template.includes(`{${config.tenantParam}}`)) {
      return `route has no path parameter {${config.tenantParam}}`;
    }
    return undefined;
  },
  create(config) {
    const required = config.requireScopes;
    return function tenant(ctx) {
      const id = ctx.identity;
      if (!id) throw new GatewayError('GW_AUTH_REQUIRED');
      for (const s of required) {
        if (!id.scopes.includes(s)) {
          throw new GatewayError('GW_AUTH_FORBIDDEN', { detail: `This call needs the scope "${s}".` });
        }
      }
      if (config.tenantParam && ctx.params[config.tenantParam] !== id.tenant) {
        throw new GatewayError('GW_AUTH_FORBIDDEN', { detail: 'The resource belongs to another tenant.' });
      }
    };
  },
});
