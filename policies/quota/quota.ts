// quota: fixed-window quotas per calendar day and month (UTC), per app or tenant, counted with
// rate-limiter-flexible in Redis when configured (falling back to a local count when Redis
// fails), in memory otherwise. The tightest remaining quota is sent as X-Quota-Limit/Remaining/Reset.
// Emits GW_QUOTA_EXCEEDED (429 with Retry-After until the window ends).
//
//   - policy: quota
//     config: { by: app, limits: [{ period: day, limit: 10000 }, { period: month, limit: 200000 }] }
import { RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { GatewayError } from '../errors.ts';
import { definePolicy } from '../contract.ts';

interface QuotaConfig {
  name: string;
  by: 'app' | 'tenant';
  limits: { period: 'day' | 'month'; limit: number }[];
}

/** Calls counted per key until the key's window ends; ended windows are dropped as it grows. */
export function createWindowCounter(now: () => number, maxKeys = 100_000) {
  const counts = new Map<string, { n: number; until: number }>();
  return {
    add(key: string, endsInSeconds: number): number {
      const t = now();
      let e = counts.get(key);
      if (!e || e.until <= t) {
        if (counts.size >= maxKeys) for (const [k, v] of counts) if (v.until <= t) counts.delete(k);
        e = { n: 0, until: t + endsInSeconds * 1000 };
        counts.set(key, e);
      }
      return ++e.n;
    },
  };
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
      // Counted in Redis with rate-limiter-flexible when configured. In memory (and when Redis
      // fails) a plain counter per window: rate-limiter-flexible's memory limiter expires keys
      // with setTimeout, which cannot hold a month (Node caps timers at 24.8 days).
      const local = deps.keep(`${keyPrefix}:memory`, () => createWindowCounter(deps.now));
      const shared = deps.redis
        ? deps.keep<RateLimiterAbstract>(keyPrefix, () => new RateLimiterRedis({ storeClient: deps.redis, keyPrefix, points: l.limit, duration: 0 }))
        : undefined;
      return { ...l, local, shared };
    });
    return async function quota(ctx) {
      const id = ctx.identity;
      const who = id ? (config.by === 'app' ? id.app : id.tenant) : `ip:${ctx.clientIp}`;
      const now = deps.now();
      let tightest: { limit: number; remaining: number; reset: number } | undefined;
      for (const l of limiters) {
        const w = windowOf(l.period, now);
        const key = `${who}:${w.id}`;
        let used: number;
        if (l.shared) {
          try {
            const r = await l.shared.consume(key, 1, { customDuration: w.endsInSeconds });
            used = r.consumedPoints;
          } catch (rej) {
            if (rej instanceof RateLimiterRes) used = rej.consumedPoints;
            else {
              deps.metrics.limiterDecision(`quota:${config.name}`, 'fallback');
              used = l.local.add(key, w.endsInSeconds);
            }
          }
        } else {
          used = l.local.add(key, w.endsInSeconds);
        }
        if (used > l.limit) {
          deps.metrics.limiterDecision(`quota:${config.name}`, 'limited');
          ctx.responseHeaders['X-Quota-Limit'] = String(l.limit);
          ctx.responseHeaders['X-Quota-Remaining'] = '0';
          ctx.responseHeaders['X-Quota-Reset'] = String(w.endsInSeconds);
          throw new GatewayError('GW_QUOTA_EXCEEDED', {
            detail: `The ${l.period}ly quota of ${l.limit} calls is used up.`,
            headers: { 'Retry-After': String(w.endsInSeconds) },
          });
        }
        const remaining = l.limit - used;
        if (!tightest || remaining < tightest.remaining) tightest = { limit: l.limit, remaining, reset: w.endsInSeconds };
      }
      if (tightest) {
        ctx.responseHeaders['X-Quota-Limit'] = String(tightest.limit);
        ctx.responseHeaders['X-Quota-Remaining'] = String(tightest.remaining);
        ctx.responseHeaders['X-Quota-Reset'] = String(tightest.reset);
      }
    };
  },
});
