// Tenants, apps and API keys as operations, shared by the admin API, the CLI (through the admin
// API) and the demo bootstrap. A key's secret exists only in the value returned at creation.
import { randomBytes } from 'node:crypto';
import { generateApiKey } from '../policies/api-key/keys.ts';
import type { ApiKeyRecord, App, OAuthClient, Store, Tenant } from '../store/store.ts';
import { generateClientSecret, hashClientSecret } from './oauth/client-secret.ts';

/** What listings show of an OAuth client: never the secret hash. */
export type PublicClient = Omit<OAuthClient, 'secretHash'> & { authMethod: 'client_secret' | 'private_key_jwt' };

export function toPublicClient(c: OAuthClient): PublicClient {
  const { secretHash, ...rest } = c;
  return { ...rest, authMethod: secretHash ? 'client_secret' : 'private_key_jwt' };
}

/** What listings show of a key: never the hash, never the secret. */
export interface PublicKey {
  id: string;
  tenantId: string;
  appId: string;
  name: string;
  scopes: string[];
  apis: string[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  rotatedTo: string | null;
  status: 'active' | 'expired' | 'revoked';
}

export function toPublicKey(k: ApiKeyRecord, now: number): PublicKey {
  const { hash: _hash, ...rest } = k;
  const status = k.revokedAt ? 'revoked' : k.expiresAt && Date.parse(k.expiresAt) <= now ? 'expired' : 'active';
  return { ...rest, status };
}

export class NotFoundError extends Error {
  readonly code = 'NOT_FOUND';
}

const slugId = (prefix: string) => `${prefix}_${randomBytes(6).toString('hex')}`;

export function createAccounts(store: Store, now: () => number, changed: (keyId: string) => void = () => undefined) {
  return {
    createTenant(input: { id?: string; name: string }): Tenant {
      return store.createTenant({ id: input.id ?? slugId('tn'), name: input.name });
    },
    listTenants: (): Tenant[] => store.listTenants(),
    listApps: (tenantId?: string): App[] => store.listApps(tenantId),
    createApp(input: { id?: string; tenantId: string; name: string }): App {
      if (!store.getTenant(input.tenantId)) throw new NotFoundError(`tenant ${input.tenantId}`);
      return store.createApp({ id: input.id ?? slugId('app'), tenantId: input.tenantId, name: input.name });
    },
    issueKey(input: { appId: string; name: string; scopes: string[]; apis: string[]; expiresAt?: string | null }) {
      const app = store.getApp(input.appId);
      if (!app) throw new NotFoundError(`app ${input.appId}`);
      const g = generateApiKey();
      const rec = store.createApiKey({
        id: g.id,
        tenantId: app.tenantId,
        appId: app.id,
        name: input.name,
        hash: g.hash,
        scopes: input.scopes,
        apis: input.apis,
        expiresAt: input.expiresAt ?? null,
      });
      return { key: g.key, record: toPublicKey(rec, now()) };
    },
    revokeKey(id: string): PublicKey {
      if (!store.getApiKey(id)) throw new NotFoundError(`key ${id}`);
      store.revokeApiKey(id, new Date(now()).toISOString());
      changed(id);
      return toPublicKey(store.getApiKey(id)!, now());
    },
    /** A new key with the same grants; the old one keeps working for `overlapSeconds`. */
    rotateKey(id: string, overlapSeconds: number) {
      const old = store.getApiKey(id);
      if (!old || old.revokedAt) throw new NotFoundError(`key ${id}`);
      return store.transaction(() => {
        const next = this.issueKey({ appId: old.appId, name: old.name, scopes: old.scopes, apis: old.apis, expiresAt: old.expiresAt });
        store.markRotated(id, next.record.id, new Date(now() + overlapSeconds * 1000).toISOString());
        changed(id);
        return { ...next, previous: toPublicKey(store.getApiKey(id)!, now()) };
      });
    },
    /** A client with a secret (shown once) or with the public keys it signs assertions with. */
    createClient(input: {
      appId: string;
      name: string;
      scopes: string[];
      tokenLifetimeSeconds: number;
      jwks?: { keys: Record<string, unknown>[] };
      jwksUri?: string;
    }): { client: PublicClient; secret?: string } {
      const app = store.getApp(input.appId);
      if (!app) throw new NotFoundError(`app ${input.appId}`);
      const usesKeys = Boolean(input.jwks || input.jwksUri);
      const secret = usesKeys ? undefined : generateClientSecret();
      const c = store.createOAuthClient({
        id: `qc_${randomBytes(8).toString('hex')}`,
        tenantId: app.tenantId,
        appId: app.id,
        name: input.name,
        secretHash: secret ? hashClientSecret(secret) : null,
        jwks: input.jwks ?? null,
        jwksUri: input.jwksUri ?? null,
        scopes: input.scopes,
        tokenLifetimeSeconds: input.tokenLifetimeSeconds,
      });
      return { client: toPublicClient(c), secret };
    },
    listClients: (filter: { tenantId?: string; appId?: string }) => store.listOAuthClients(filter).map(toPublicClient),
    revokeClient(id: string): PublicClient {
      if (!store.getOAuthClient(id)) throw new NotFoundError(`client ${id}`);
      store.revokeOAuthClient(id, new Date(now()).toISOString());
      return toPublicClient(store.getOAuthClient(id)!);
    },
    listKeys(filter: { tenantId?: string; appId?: string }): PublicKey[] {
      return store.listApiKeys(filter).map((k) => toPublicKey(k, now()));
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
