// api-key: authenticates a call by an API key sent as `X-API-Key: …` or
// `Authorization: ApiKey …`. Missing, malformed, unknown, expired, revoked → 401 GW_AUTH_REQUIRED
// with the same body for all, so a caller cannot tell one case from another. A key that may not
// call this API → 403 GW_AUTH_FORBIDDEN.
//
//   - policy: api-key
//     config: { cacheTtlMs: 0 }
import { GatewayError } from '../errors.ts';
import { definePolicy, type Identity } from '../contract.ts';
import type { ApiKeyRecord } from '../../store/store.ts';
import { hashApiKey, hashesEqual, parseApiKey } from './keys.ts';

interface ApiKeyConfig {
  cacheTtlMs: number;
}

const DUMMY_HASH = hashApiKey('qk_000000000000_dummy');

function readKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const direct = headers['x-api-key'];
  if (typeof direct === 'string') return direct.trim();
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.slice(0, 7).toLowerCase() === 'apikey ') return auth.slice(7).trim();
  return undefined;
}

export const apiKeyPolicy = definePolicy<ApiKeyConfig>({
  name: 'api-key',
  phase: 'auth',
  description: 'Authenticates calls by an API key issued through the admin API.',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      cacheTtlMs: {
        type: 'integer',
        minimum: 0,
        maximum: 60000,
        default: 0,
        description: 'How long a looked-up key is kept in memory; revocation takes up to this long to apply.',
      },
    },
  },
  create(config, deps) {
    const cache = new Map<string, { rec: ApiKeyRecord | undefined; until: number }>();
    const lookup = (id: string): ApiKeyRecord | undefined => {
      if (config.cacheTtlMs === 0) return deps.store.getApiKey(id);
      const now = deps.now();
      const hit = cache.get(id);
      if (hit && hit.until > now) return hit.rec;
      const rec = deps.store.getApiKey(id);
      if (cache.size > 10000) cache.clear();
      cache.set(id, { rec, until: now + config.cacheTtlMs });
      return rec;
    };
    return function apiKey(ctx) {
      const key = readKey(ctx.req.headers);
      const id = key ? parseApiKey(key) : undefined;
      const rec = id ? lookup(id) : undefined;
      // Hash even when the id is unknown, so timing says nothing about which keys exist.
      const ok = hashesEqual(key ? hashApiKey(key) : DUMMY_HASH, rec?.hash ?? DUMMY_HASH) && rec !== undefined;
      const now = deps.now();
      if (!ok || rec.revokedAt !== null || (rec.expiresAt !== null && Date.parse(rec.expiresAt) <= now)) {
        throw new GatewayError('GW_AUTH_REQUIRED', { headers: { 'WWW-Authenticate': 'ApiKey' } });
      }
      if (!rec.apis.includes('*') && !rec.apis.includes(ctx.route.api)) {
        throw new GatewayError('GW_AUTH_FORBIDDEN', { detail: 'This key may not call this API.' });
      }
      const identity: Identity = {
        tenant: rec.tenantId,
        app: rec.appId,
        subject: `app:${rec.appId}`,
        scopes: rec.scopes,
        credentialId: rec.id,
        apis: rec.apis,
      };
      ctx.identity = identity;
      // The key has done its job here; upstreams never see it.
      delete ctx.req.headers['x-api-key'];
      if (ctx.req.headers.authorization?.slice(0, 7).toLowerCase() === 'apikey ') delete ctx.req.headers.authorization;
    };
  },
});
