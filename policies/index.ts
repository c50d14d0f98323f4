// Every policy the gateway knows, listed once. A duplicate name fails at start-up.
import type { PolicyDefinition } from './contract.ts';
import { apiKeyPolicy } from './api-key/api-key.ts';
import { bodyLimitPolicy } from './body-limit/body-limit.ts';
import { corsPolicy } from './cors/cors.ts';
import { jwtPolicy } from './jwt/jwt.ts';
import { scopesPolicy } from './scopes/scopes.ts';
import { ipFilterPolicy } from './ip-filter/ip-filter.ts';
import { quotaPolicy } from './quota/quota.ts';
import { rateLimitPolicy } from './rate-limit/rate-limit.ts';
import { tenantPolicy } from './tenant/tenant.ts';
import { validatePolicy } from './validate/validate.ts';

export const POLICIES: readonly PolicyDefinition<any>[] = [
  ipFilterPolicy,
  corsPolicy,
  bodyLimitPolicy,
  apiKeyPolicy,
  jwtPolicy,
  tenantPolicy,
  scopesPolicy,
  rateLimitPolicy,
  quotaPolicy,
  validatePolicy,
];

export function policyRegistry(list: readonly PolicyDefinition<any>[] = POLICIES): ReadonlyMap<string, PolicyDefinition<any>> {
  const map = new Map<string, PolicyDefinition<any>>();
  for (const p of list) {
    if (map.has(p.name)) throw new Error(`policy "${p.name}" is registered twice`);
    map.set(p.name, p);
  }
  return map;
}
