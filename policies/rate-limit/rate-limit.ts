// rate-limit: a true token bucket per key built from any of: credential, app, tenant, client
// IP, route. Shared through Redis when the gateway has REDIS_URL, in memory otherwise. When
// Redis fails, `onStoreError` decides: `open` continues on a local bucket of the same size,
// `closed` answers 503 GW_LIMITER_UNAVAILABLE. Emits GW_RATE_LIMITED (429 with Retry-After)
// and RateLimit-Limit/Remaining/Reset/Policy on every response it sees.
//
//   - policy: rate-limit
//     config: { name: partner, capacity: 20, refillPerSecond: 10, key: [app, route], onStoreError: open }
import { GatewayError } from '../errors.ts';
import { definePolicy, type Identity, type RequestContext, type TokenBucketResult } from '../contract.ts';

type KeyPart = 'credential' | 'app' | 'tenant' | 'ip' | 'route';

interface RateLimitConfig {
  name: string;
  capacity: number;
  refillPerSecond: number;
  key: KeyPart[];
  onStoreError: 'open' | 'closed';
}

function partOf(ctx: RequestContext, part: KeyPart): string {
  const id = ctx.identity;
  switch (part) {
    case 'credential':
      return id ? `k=${id.credentialId}` : `ip=${ctx.clientIp}`;
    case 'app':
      return id ? `a=${id.app}` : `ip=${ctx.clientIp}`;
    case 'tenant':
      return id ? `t=${id.tenant}` : `ip=${ctx.clientIp}`;
    case 'ip':
      return `ip=${ctx.clientIp}`;
    case 'route':
      return `r=${ctx.route.id}`;
  }
}

export const rateLimitPolicy = definePolicy<RateLimitConfig>({
  name: 'rate-limit',
  phase: 'limit',
  description: 'Token-bucket rate limit (burst capacity, continuous refill).',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['capacity', 'refillPerSecond'],
    properties: {
      name: {
        type: 'string',
        pattern: '^[a-z0-9-]{1,40}$',
        default: 'default',
        description: 'Names the bucket family; buckets of different names never mix.',
      },
      capacity: { type: 'integer', minimum: 1, maximum: 1000000, description: 'Burst size: tokens when full.' },
      refillPerSecond: {
        type: 'number',
        exclusiveMinimum: 0,
        maximum: 1000000,
        description: 'Tokens added per second.',
      },
      key: {
        type: 'array',
        items: { enum: ['credential', 'app', 'tenant', 'ip', 'route'] },
        minItems: 1,
        uniqueItems: true,
        default: ['credential'],
        description: 'What a bucket is per. Identity parts fall back to the client IP for anonymous calls.',
      },
      onStoreError: {
        enum: ['open', 'closed'],
        default: 'open',
        description: 'When Redis is unreachable: open = continue on a local bucket, closed = 503.',
      },
    },
  },
  create(config, deps) {
    const { capacity, refillPerSecond: rate, name } = config;
    const windowSeconds = Math.max(1, Math.ceil(capacity / rate));
    const policyHeader = `${capacity};w=${windowSeconds}`;
    const limitHeader = String(capacity);
    const parts = config.key;
    const shared = deps.sharedBuckets;
    const local = deps.memoryBuckets;
    const answer = (ctx: RequestContext, res: TokenBucketResult) => {
      const h = ctx.responseHeaders;
      h['RateLimit-Limit'] = limitHeader;
      h['RateLimit-Remaining'] = String(res.remaining);
      h['RateLimit-Reset'] = String(Math.ceil(res.resetMs / 1000));
      h['RateLimit-Policy'] = policyHeader;
      if (!res.allowed) {
        deps.metrics.limiterDecision(name, 'limited');
        throw new GatewayError('GW_RATE_LIMITED', {
          headers: { 'Retry-After': String(Math.max(1, Math.ceil(res.retryAfterMs / 1000))) },
        });
      }
      deps.metrics.limiterDecision(name, 'allowed');
    };
    const build = (ctx: RequestContext) => {
      let key = name;
      for (const p of parts) key += `|${partOf(ctx, p)}`;
      return key;
    };
    // A key made only of identity parts is built once per identity (the credential caches keep
    // identities), so the bucket lookup hashes a string it has seen before.
    const byIdentity = parts.every((p) => p === 'credential' || p === 'app' || p === 'tenant') ? new WeakMap<Identity, string>() : undefined;
    const keyOf = (ctx: RequestContext) => {
      const id = ctx.identity;
      if (byIdentity === undefined || id === undefined) return build(ctx);
      let key = byIdentity.get(id);
      if (key === undefined) byIdentity.set(id, (key = build(ctx)));
      return key;
    };
    if (!shared) {
      // In-memory buckets answer synchronously: no promise on the hot path.
      return function rateLimit(ctx) {
        answer(ctx, local.take(keyOf(ctx), capacity, rate, 1));
      };
    }
    return async function rateLimitShared(ctx) {
      const key = keyOf(ctx);
      let res: TokenBucketResult;
      try {
        res = await shared.take(key, capacity, rate, 1);
      } catch {
        if (config.onStoreError === 'closed') {
          deps.metrics.limiterDecision(name, 'unavailable');
          throw new GatewayError('GW_LIMITER_UNAVAILABLE', { headers: { 'Retry-After': '1' } });
        }
        deps.metrics.limiterDecision(name, 'fallback');
        res = local.take(key, capacity, rate, 1);
      }
      answer(ctx, res);
    };
  },
});
