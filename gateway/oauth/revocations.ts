// Revoked access tokens, by jti, until they would have expired. The store keeps the durable
// record; with Redis every gateway process also sees a revocation at once through a key that
// expires with the token. A Redis failure falls back to the store.
import type { Redis } from 'ioredis';
import type { Store } from '../../store/store.ts';

export interface Revocations {
  revoke(jti: string, expiresAtMs: number): Promise<void>;
  isRevoked(jti: string): boolean | Promise<boolean>;
}

export function createRevocations(o: { store: Store; redis?: Redis }): Revocations {
  const prefix = 'qgw:revoked:';
  return {
    async revoke(jti, expiresAtMs) {
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
      if (!o.redis) return o.store.isTokenRevoked(jti);
      return o.redis.exists(prefix + jti).then(
        (n) => n === 1 || o.store.isTokenRevoked(jti),
        () => o.store.isTokenRevoked(jti),
      );
    },
  };
}
