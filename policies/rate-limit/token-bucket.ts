// True token buckets (capacity = burst, refilled continuously at `refillPerSecond`). The memory
// backend and the Redis script below compute the same thing; the Redis one runs as one atomic
// script per request, reading the clock from Redis itself so every gateway process shares one
// bucket exactly.
import type { MemoryBucketBackend, TokenBucketBackend, TokenBucketResult } from '../contract.ts';

interface Bucket {
  tokens: number;
  ts: number;
}

/**
 * The refill maths shared by both backends (the Lua script mirrors it line by line). `b` is
 * updated in place; a new bucket is passed in full (`tokens: capacity`, `ts: now`).
 */
export function takeFrom(b: Bucket, now: number, capacity: number, rate: number, cost: number): TokenBucketResult {
  let tokens = Math.min(capacity, b.tokens + (Math.max(0, now - b.ts) * rate) / 1000);
  let allowed = false;
  let retryAfterMs = 0;
  if (tokens >= cost) {
    tokens -= cost;
    allowed = true;
  } else {
    retryAfterMs = Math.ceil(((cost - tokens) * 1000) / rate);
  }
  b.tokens = tokens;
  b.ts = now;
  return { allowed, remaining: Math.floor(tokens), resetMs: Math.ceil(((capacity - tokens) * 1000) / rate), retryAfterMs };
}

export function createMemoryBuckets(opts: { now: () => number; maxKeys?: number }): MemoryBucketBackend {
  const buckets = new Map<string, Bucket & { full: number }>();
  const maxKeys = opts.maxKeys ?? 100_000;
  return {
    kind: 'memory',
    take(key, capacity, rate, cost) {
      const now = opts.now();
      let b = buckets.get(key);
      if (b === undefined) {
        if (buckets.size >= maxKeys) {
          // Buckets that have refilled are the same as absent ones: drop them first.
          for (const [k, v] of buckets) if (v.full <= now) buckets.delete(k);
          if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value as string);
        }
        buckets.set(key, (b = { tokens: capacity, ts: now, full: now }));
      }
      // Updated in place: the hot path allocates no bucket per call.
      const result = takeFrom(b, now, capacity, rate, cost);
      b.full = now + result.resetMs;
      return result;
    },
  };
}

export const TOKEN_BUCKET_LUA = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local s = redis.call('HMGET', KEYS[1], 'tk', 'ts')
local tokens = tonumber(s[1])
local ts = tonumber(s[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
local elapsed = now - ts
if elapsed < 0 then elapsed = 0 end
tokens = math.min(capacity, tokens + elapsed * rate / 1000)
local allowed = 0
local retry = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry = math.ceil((cost - tokens) * 1000 / rate)
end
local reset = math.ceil((capacity - tokens) * 1000 / rate)
redis.call('HSET', KEYS[1], 'tk', string.format('%.6f', tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], reset + 1000)
return {allowed, math.floor(tokens), reset, retry}
`;

/** The slice of an ioredis client this backend needs, after `defineCommand('qgwTake', …)`. */
export interface BucketRedis {
  qgwTake(key: string, capacity: number, rate: number, cost: number): Promise<[number, number, number, number]>;
}

export function createRedisBuckets(redis: BucketRedis, prefix = 'qgw:tb:'): TokenBucketBackend {
  return {
    kind: 'redis',
    async take(key, capacity, rate, cost) {
      const [allowed, remaining, resetMs, retryAfterMs] = await redis.qgwTake(prefix + key, capacity, rate, cost);
      return { allowed: allowed === 1, remaining, resetMs, retryAfterMs };
    },
  };
}
