// quota: fixed-window quotas per calendar day and month (UTC), per app or tenant, counted with
// rate-limiter-flexible (in Redis when configured, with an in-memory insurance limiter when
// Redis fails). The tightest remaining quota is sent as X-Quota-Limit/Remaining/Reset.
// Emits GW_QUOTA_EXCEEDED (429 with Retry-After until the window ends).
//
//   - policy: quota
//     config: { by: app, limits: [{ period: day, limit: 10000 }, { period: month, limit: 200000 }] }
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { GatewayError } from '../errors.ts';
import { definePolicy } from '../contract.ts';

interface QuotaConfig {
  name: string;
  by: 'app' | 'tenant';
  limits: { period: 'day' | 'month'; limit: number }[];
}

/** The window a timestamp falls in, and the seconds left in it. */
export function windowOf(period: 'day' | 'month', now: number): { id: string; endsInSeconds: number } {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const end = period === 'day' ? Date.UTC(y, m, d.getUTCDate() + 1) : Date.UTC(y, m + 1, 1);
  const id = period === 'day' ? d.toISOString().slice(0, 10) : d.toISOString().slice(0, 7);
  return { id, endsInSeconds: Math.max(1, Math.ceil((end - now) / 1000)) };
}

export const quotaPolicy = definePolicy<QuotaConfig>({
  name: 'quota',
  phase: 'limit',
  description: 'Daily and monthly call quotas per app or tenant.',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['limits'],
    properties: {
      name: { type: 'string', pattern: '^[a-z0-9-]{1,40}$', default: 'default', description: 'Quota family name.' },
      by: { enum: ['app', 'tenant'], default: 'app', description: 'Who a quota is counted for.' },
      limits: {
        type: 'array',
        minItems: 1,
        maxItems: 2,
        description: 'At most one limit per period.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['period', 'limit'],
          properties: {
            period: { enum: ['day', 'month'], description: 'Calendar window (UTC).' },
            limit: { type: 'integer', minimum: 1, description: 'Calls allowed per window.' },
          },
        },
      },
    },
  },
  create(config, deps) {
    const limiters = config.limits.map((l) => {
      const keyPrefix = `qgw:quota:${config.name}:${config.by}:${l.period}:${l.limit}`;
      const limiter = deps.keep<RateLimiterAbstract>(keyPrefix, () => {
        const memory = new RateLimiterMemory({ keyPrefix, points: l.limit, duration: 0 });
        if (!deps.redis) return memory;
        return new RateLimiterRedis({
          storeClient: deps.redis,
          keyPrefix,
          points: l.limit,
          duration: 0,
          insuranceLimiter: memory,
        });
      });
      return { ...l, limiter };
    });
    return async function quota(ctx) {
      const id = ctx.identity;
      const who = id ? (config.by === 'app' ? id.app : id.tenant) : `ip:${ctx.clientIp}`;
      const now = deps.now();
      let tightest: { limit: number; remaining: number; reset: number } | undefined;
      for (const l of limiters) {
        const w = windowOf(l.period, now);
        let res: RateLimiterRes;
        try {
          res = await l.limiter.consume(`${who}:${w.id}`, 1, { customDuration: w.endsInSeconds });
        } catch (rej) {
          if (!(rej instanceof RateLimiterRes)) throw rej;
          deps.metrics.limiterDecision(`quota:${config.name}`, 'limited');
          ctx.responseHeaders['X-Quota-Limit'] = String(l.limit);
          ctx.responseHeaders['X-Quota-Remaining'] = '0';
          ctx.responseHeaders['X-Quota-Reset'] = String(w.endsInSeconds);
          throw new GatewayError('GW_QUOTA_EXCEEDED', {
            detail: `The ${l.period}ly quota of ${l.limit} calls is used up.`,
            headers: { 'Retry-After': String(w.endsInSeconds) },
          });
        }
        if (!tightest || res.remainingPoints < tightest.remaining) {
          tightest = { limit: l.limit, remaining: res.remainingPoints, reset: w.endsInSeconds };
        }
      }
      if (tightest) {
        ctx.responseHeaders['X-Quota-Limit'] = String(tightest.limit);
        ctx.responseHeaders['X-Quota-Remaining'] = String(tightest.remaining);
        ctx.responseHeaders['X-Quota-Reset'] = String(tightest.reset);
      }
    };
  },
});
