// api-key: authenticates a call by an API key sent as `X-API-Key: …` or
// `Authorization: ApiKey …`. Missing, malformed, unknown, expired, revoked → 401 GW_AUTH_REQUIRED
// with the same body for all, so a caller cannot tell one case from another. A key that may not
// call this API → 403 GW_AUTH_FORBIDDEN.
//
// Looked-up keys are cached for `cacheTtlMs`: a revocation or rotation made through this
// process applies at once, one made through another process within that time.
//
//   - policy: api-key
//     config: { cacheTtlMs: 1000 }
import { GatewayError } from '../errors.ts';
import { definePolicy, type Identity } from '../contract.ts';
import type { ApiKeyRecord } from '../../store/store.ts';
import { hashApiKeyBytes, hashesEqual, parseApiKey } from './keys.ts';

interface Entry {
  rec: ApiKeyRecord;
  identity: Identity;
  hash: Buffer;
  expires: number;
}

interface ApiKeyConfig {
  cacheTtlMs: number;
  optional: boolean;
}

const DUMMY_HASH = hashApiKeyBytes('qk_000000000000_dummy');

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
      optional: {
        type: 'boolean',
        default: false,
        description: 'When no API key is sent, pass the call on for another auth policy (jwt) or for tenant/scopes to refuse.',
      },
      cacheTtlMs: {
        type: 'integer',
        minimum: 0,
        maximum: 60000,
        default: 1000,
        description: 'How long a looked-up key is kept in memory; a revocation made through another gateway process takes up to this long to apply.',
      },
    },
  },
  create(config, deps) {
    // One cache for every instance, kept across reloads, emptied of a key the moment it changes.
    // An entry holds what the hot path needs already decoded: the hash bytes and the expiry.
    const cache = deps.keep('api-key:cache', () => {
      const m = new Map<string, { entry: Entry | undefined; at: number }>();
      deps.credentialChanges.subscribe((id) => m.delete(id));
      return m;
    });
    // Keys already verified, by the presented value, for the same time: a repeat call skips the
    // hash (SHA-256 per call was the costliest step of this policy). In memory only; the store
    // still holds nothing but hashes.
    const verified = deps.keep('api-key:verified', () => {
      const m = new Map<string, { entry: Entry; at: number }>();
      deps.credentialChanges.subscribe((id) => {
        for (const [k, v] of m) if (v.entry.rec.id === id) m.delete(k);
      });
      return m;
    });
    const load = (id: string): Entry | undefined => {
      const rec = deps.store.getApiKey(id);
      if (!rec) return undefined;
      const identity: Identity = Object.freeze({
        tenant: rec.tenantId,
        app: rec.appId,
        subject: `app:${rec.appId}`,
        scopes: Object.freeze([...rec.scopes]),
        credentialId: rec.id,
        apis: Object.freeze([...rec.apis]),
      });
      return { rec, identity, hash: Buffer.from(rec.hash, 'hex'), expires: rec.expiresAt === null ? Infinity : Date.parse(rec.expiresAt) };
    };
    const lookup = (id: string, now: number): Entry | undefined => {
      if (config.cacheTtlMs === 0) return load(id);
      const hit = cache.get(id);
      if (hit && now - hit.at < config.cacheTtlMs) return hit.entry;
      const entry = load(id);
      if (cache.size >= 10000) cache.clear();
      cache.set(id, { entry, at: now });
      return entry;
    };
    const check = (key: string | undefined, now: number): Entry | undefined => {
      if (key !== undefined && config.cacheTtlMs > 0) {
        const hit = verified.get(key);
        if (hit && now - hit.at < config.cacheTtlMs) return hit.entry;
      }
      const id = key ? parseApiKey(key) : undefined;
      const entry = id ? lookup(id, now) : undefined;
      // Hash even when the id is unknown, so timing says nothing about which keys exist.
      const ok = hashesEqual(key ? hashApiKeyBytes(key) : DUMMY_HASH, entry?.hash ?? DUMMY_HASH) && entry !== undefined;
      if (!ok) return undefined;
      if (config.cacheTtlMs > 0) {
        if (verified.size >= 10000) verified.clear();
        verified.set(key!, { entry, at: now });
      }
      return entry;
    };
    return function apiKey(ctx) {
      const key = readKey(ctx.req.headers);
      if (key === undefined && config.optional) return;
      const now = deps.now();
      const entry = check(key, now);
      if (!entry || entry.rec.revokedAt !== null || entry.expires <= now) {
        throw new GatewayError('GW_AUTH_REQUIRED', { headers: { 'WWW-Authenticate': 'ApiKey' } });
      }
      const rec = entry.rec;
      if (!rec.apis.includes('*') && !rec.apis.includes(ctx.route.api)) {
        throw new GatewayError('GW_AUTH_FORBIDDEN', { detail: 'This key may not call this API.' });
      }
      ctx.identity = entry.identity;
      // The key has done its job here; upstreams never see it.
      if (ctx.req.headers['x-api-key'] !== undefined) ctx.hideFromUpstream('x-api-key');
      if (ctx.req.headers.authorization?.slice(0, 7).toLowerCase() === 'apikey ') ctx.hideFromUpstream('authorization');
    };
  },
});
