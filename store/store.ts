// The durable state of the gateway behind one interface. The SQLite implementation
// (sqlite-store.ts) is the embedded default; other backends implement the same methods.
// Secrets never enter the store in clear: API keys arrive here as hashes only.

export interface Tenant {
  id: string;
  name: string;
  createdAt: string;
}

export interface App {
  id: string;
  tenantId: string;
  name: string;
  createdAt: string;
}

export interface ApiKeyRecord {
  id: string; // the visible prefix, e.g. "qk_3f9a2c1d"
  tenantId: string;
  appId: string;
  name: string;
  hash: string; // hex SHA-256 of the whole key
  scopes: string[];
  apis: string[]; // API names this key may call; empty = none
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  rotatedTo: string | null;
}

export interface OAuthClient {
  id: string; // client_id
  tenantId: string;
  appId: string;
  name: string;
  /** client_secret_basic / client_secret_post clients: hex SHA-256 of the secret. */
  secretHash: string | null;
  /** private_key_jwt clients: a public JWK Set, or a URL serving one. */
  jwks: { keys: Record<string, unknown>[] } | null;
  jwksUri: string | null;
  scopes: string[];
  tokenLifetimeSeconds: number;
  createdAt: string;
  revokedAt: string | null;
}

export interface SigningKey {
  kid: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  /** The private JWK, encrypted with the gateway's master key. */
  privateJwkEnc: string;
  status: 'next' | 'active' | 'retired';
  createdAt: string;
  activatedAt: string | null;
  retiredAt: string | null;
  /** When a retired key leaves the JWKS: every token it signed has expired by then. */
  removeAfter: string | null;
}

export type NewApiKey = Omit<ApiKeyRecord, 'createdAt' | 'revokedAt' | 'rotatedTo'>;

export interface Store {
  createTenant(t: { id: string; name: string }): Tenant;
  getTenant(id: string): Tenant | undefined;
  listTenants(): Tenant[];
  createApp(a: { id: string; tenantId: string; name: string }): App;
  getApp(id: string): App | undefined;
  listApps(tenantId?: string): App[];
  createApiKey(k: NewApiKey): ApiKeyRecord;
  getApiKey(id: string): ApiKeyRecord | undefined;
  listApiKeys(filter?: { tenantId?: string; appId?: string }): ApiKeyRecord[];
  revokeApiKey(id: string, at: string): boolean;
  /** Marks `oldId` as rotated to `newId` and ends it at `expiresAt` (the overlap window). */
  markRotated(oldId: string, newId: string, expiresAt: string): void;
  createOAuthClient(c: Omit<OAuthClient, 'createdAt' | 'revokedAt'>): OAuthClient;
  getOAuthClient(id: string): OAuthClient | undefined;
  listOAuthClients(filter?: { tenantId?: string; appId?: string }): OAuthClient[];
  revokeOAuthClient(id: string, at: string): boolean;
  listSigningKeys(): SigningKey[];
  putSigningKey(k: SigningKey): void;
  deleteSigningKey(kid: string): void;
  /** Records a token id as revoked until `expiresAt`; false when it already was. */
  revokeToken(jti: string, expiresAt: string): boolean;
  isTokenRevoked(jti: string): boolean;
  /** Records a one-time id (a client assertion's jti); false when it was seen before. */
  useOnce(id: string, expiresAt: string): boolean;
  /** Drops revocations and one-time ids whose time has passed. */
  purgeExpired(now: string): void;
  /** Runs `fn` in one transaction. */
  transaction<T>(fn: () => T): T;
  ping(): boolean;
  close(): void;
}

export class StoreConflictError extends Error {
  readonly code = 'STORE_CONFLICT';
}
