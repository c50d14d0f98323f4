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
  /** Runs `fn` in one transaction. */
  transaction<T>(fn: () => T): T;
  ping(): boolean;
  close(): void;
}

export class StoreConflictError extends Error {
  readonly code = 'STORE_CONFLICT';
}
