// The authorization server's signing keys. Three states: `next` (published in the JWKS, signs
// nothing yet), `active` (signs), `retired` (published until every token it signed has expired,
// then removed). A rotation promotes next → active and active → retired and makes a new next,
// so a key is always published before it signs. Private keys are kept encrypted in the store;
// every process reads the same keys, refreshing from the store on a short interval and on an
// unknown `kid` (at most once a second).
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { SigningKey, Store } from '../../store/store.ts';
import type { SecretBox } from './secret-box.ts';

export type SigningAlg = 'ES256' | 'RS256';

interface Loaded {
  meta: SigningKey;
  verify: CryptoKey;
}

export interface SigningKeys {
  /** Makes sure there is an active and a next key. */
  ensure(alg: SigningAlg): Promise<void>;
  rotate(alg: SigningAlg, maxTokenLifetimeSeconds: number): Promise<{ active: string; next: string; removed: string[] }>;
  /** Rotates when the active key is older than `everySeconds`. */
  rotateIfDue(alg: SigningAlg, everySeconds: number, maxTokenLifetimeSeconds: number): Promise<boolean>;
  /** The key that signs now. */
  signer(): Promise<{ kid: string; alg: SigningAlg; key: CryptoKey }>;
  /** A published key by kid, for verification; undefined when unknown. */
  verifier(kid: string): Promise<{ alg: string; key: CryptoKey } | undefined>;
  jwks(): Promise<{ keys: JWK[] }>;
  list(): SigningKey[];
}

export function createSigningKeys(o: { store: Store; box: SecretBox; now: () => number }): SigningKeys {
  let loaded = new Map<string, Loaded>();
  let loadedAt = -Infinity;
  let lastMissReload = -Infinity;
  let signerCache: { kid: string; alg: SigningAlg; key: CryptoKey } | undefined;
  const iso = (ms: number) => new Date(ms).toISOString();

  async function reload() {
    const now = o.now();
    const next = new Map<string, Loaded>();
    for (const meta of o.store.listSigningKeys()) {
      if (meta.removeAfter && Date.parse(meta.removeAfter) <= now) continue;
      const prev = loaded.get(meta.kid);
      const verify = prev?.verify ?? ((await importJWK({ ...meta.publicJwk, alg: meta.alg }, meta.alg)) as CryptoKey);
      next.set(meta.kid, { meta, verify });
    }
    loaded = next;
    loadedAt = now;
    signerCache = undefined;
  }

  async function fresh() {
    if (o.now() - loadedAt > 10_000) await reload();
  }

  async function make(alg: SigningAlg, status: SigningKey['status']): Promise<SigningKey> {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    const now = iso(o.now());
    return {
      kid,
      alg,
      publicJwk,
      privateJwkEnc: o.box.seal(JSON.stringify(await exportJWK(privateKey))),
      status,
      createdAt: now,
      activatedAt: status === 'active' ? now : null,
      retiredAt: null,
      removeAfter: null,
    };
  }

  const self: SigningKeys = {
    async ensure(alg) {
      const before = o.store.listSigningKeys();
      const needActive = !before.some((k) => k.status === 'active');
      const needNext = !before.some((k) => k.status === 'next');
      if (needActive || needNext) {
        const candidates = { active: needActive ? await make(alg, 'active') : undefined, next: needNext ? await make(alg, 'next') : undefined };
        // Check again inside one transaction: processes starting together create one pair only.
        o.store.transaction(() => {
          const now = o.store.listSigningKeys();
          if (candidates.active && !now.some((k) => k.status === 'active')) o.store.putSigningKey(candidates.active);
          if (candidates.next && !now.some((k) => k.status === 'next')) o.store.putSigningKey(candidates.next);
        });
      }
      await reload();
    },
    async rotate(alg, maxLifetime) {
      const fresh = await make(alg, 'next');
      const now = o.now();
      const removed: string[] = [];
      const result = o.store.transaction(() => {
        const all = o.store.listSigningKeys();
        const active = all.find((k) => k.status === 'active');
        const next = all.find((k) => k.status === 'next');
        if (active) {
          // Published past the last expiry by a minute, so verifiers with clock skew still find it.
          o.store.putSigningKey({ ...active, status: 'retired', retiredAt: iso(now), removeAfter: iso(now + maxLifetime * 1000 + 60_000) });
        }
        let promoted: SigningKey;
        if (next) {
          promoted = { ...next, status: 'active', activatedAt: iso(now) };
        } else {
          // No published successor (a store from before rotation existed): the new key must sign now.
          promoted = { ...fresh, status: 'active', activatedAt: iso(now) };
        }
        o.store.putSigningKey(promoted);
        if (next) o.store.putSigningKey(fresh);
        for (const k of all) {
          if (k.status === 'retired' && k.removeAfter && Date.parse(k.removeAfter) <= now) {
            o.store.deleteSigningKey(k.kid);
            removed.push(k.kid);
          }
        }
        return { active: promoted.kid, next: next ? fresh.kid : '' };
      });
      await reload();
      if (!result.next) await self.ensure(alg);
      const nextKid = o.store.listSigningKeys().find((k) => k.status === 'next')!.kid;
      return { active: result.active, next: nextKid, removed };
    },
    async rotateIfDue(alg, everySeconds, maxLifetime) {
      const active = o.store.listSigningKeys().find((k) => k.status === 'active');
      if (active?.activatedAt && o.now() - Date.parse(active.activatedAt) < everySeconds * 1000) return false;
      await self.rotate(alg, maxLifetime);
      return true;
    },
    async signer() {
      await fresh();
      if (signerCache) return signerCache;
      const active = [...loaded.values()].find((l) => l.meta.status === 'active');
      if (!active) throw new Error('no active signing key');
      const jwk = JSON.parse(o.box.open(active.meta.privateJwkEnc)) as JWK;
      signerCache = { kid: active.meta.kid, alg: active.meta.alg as SigningAlg, key: (await importJWK(jwk, active.meta.alg)) as CryptoKey };
      return signerCache;
    },
    async verifier(kid) {
      await fresh();
      let k = loaded.get(kid);
      if (!k && o.now() - lastMissReload > 1000) {
        lastMissReload = o.now();
        await reload();
        k = loaded.get(kid);
      }
      if (k?.meta.removeAfter && Date.parse(k.meta.removeAfter) <= o.now()) return undefined;
      return k && { alg: k.meta.alg, key: k.verify };
    },
    async jwks() {
      await fresh();
      const now = o.now();
      return {
        keys: [...loaded.values()]
          .filter((l) => !l.meta.removeAfter || Date.parse(l.meta.removeAfter) > now)
          .map((l) => l.meta.publicJwk as JWK),
      };
    },
    list: () => o.store.listSigningKeys(),
  };
  return self;
}
