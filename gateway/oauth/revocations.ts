// Revoked access tokens, by jti, until they would have expired. The store keeps the durable
// record; with Redis every gateway process also sees a revocation at once through a key that
// expires with the token, and a Redis failure falls back to the store. Without Redis a "not
// revoked" answer is kept for `recheckMs` (default 1 s): this process applies its own
// revocations at once, other processes sharing the store within that time.
import type { Redis } from 'ioredis';
import type { Store } from '../../store/store.ts';

export interface Revocations {
  revoke(jti: string, expiresAtMs: number): Promise<void>;
  isRevoked(jti: string): boolean | Promise<boolean>;
}

export function createRevocations(o: { store: Store; redis?: Redis; now?: () => number; recheckMs?: number }): Revocations {
  const prefix = 'qgw:revoked:';
  const now = o.now ?? Date.now;
  const recheckMs = o.recheckMs ?? 1000;
  const clear = new Map<string, number>();
  const fromStore = (jti: string): boolean => {
    const t = now();
    const at = clear.get(jti);
    if (at !== undefined && t - at < recheckMs) return false;
    const revoked = o.store.isTokenRevoked(jti);
    if (!revoked) {
      if (clear.size >= 100_000) clear.clear();
      clear.set(jti, t);
    }
    return revoked;
  };
  return {
    async revoke(jti, expiresAtMs) {
      clear.delete(jti);
      o.store.revokeToken(jti, new Date(expiresAtMs).toISOString());
      if (o.redis) {
        try {
          await o.redis.set(prefix + jti, '1', 'PXAT', Math.max(expiresAtMs, Date.now() + 1000));
        } catch {
          // the store has it; processes on other machines learn it when Redis is back only
        }
      }
    },
    isRevoked(jti) {
      if (!o.redis) return fromStore(jti);
      return o.redis.exists(prefix + jti).then(
        (n) => n === 1 || o.store.isTokenRevoked(jti),
        () => o.store.isTokenRevoked(jti),
      );
    },
  };
}
