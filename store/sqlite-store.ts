// SQLite implementation of the Store (better-sqlite3 v12), the embedded default.
// Migrations are numbered and applied once each, inside a transaction, recorded in
// schema_migrations; a database newer than this code refuses to open.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreConflictError, type ApiKeyRecord, type App, type NewApiKey, type OAuthClient, type SigningKey, type Store, type Tenant } from './store.ts';

export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'tenants-apps-keys',
    sql: `
      CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE TABLE apps (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id),
        name TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX apps_tenant ON apps(tenant_id);
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id),
        app_id TEXT NOT NULL REFERENCES apps(id),
        name TEXT NOT NULL,
        hash TEXT NOT NULL,
        scopes TEXT NOT NULL,
        apis TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT,
        rotated_to TEXT
      );
      CREATE INDEX api_keys_app ON api_keys(app_id);
    `,
  },
  {
    version: 2,
    name: 'oauth',
    sql: `
      CREATE TABLE oauth_clients (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants(id),
        app_id TEXT NOT NULL REFERENCES apps(id),
        name TEXT NOT NULL,
        secret_hash TEXT,
        jwks TEXT,
        jwks_uri TEXT,
        scopes TEXT NOT NULL,
        token_lifetime_seconds INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      );
      CREATE INDEX oauth_clients_app ON oauth_clients(app_id);
      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        private_jwk_enc TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('next', 'active', 'retired')),
        created_at TEXT NOT NULL,
        activated_at TEXT,
        retired_at TEXT,
        remove_after TEXT
      );
      CREATE TABLE revoked_tokens (jti TEXT PRIMARY KEY, expires_at TEXT NOT NULL);
      CREATE TABLE used_once (id TEXT PRIMARY KEY, expires_at TEXT NOT NULL);
    `,
  },
];

interface ClientRow {
  id: string;
  tenant_id: string;
  app_id: string;
  name: string;
  secret_hash: string | null;
  jwks: string | null;
  jwks_uri: string | null;
  scopes: string;
  token_lifetime_seconds: number;
  created_at: string;
  revoked_at: string | null;
}

const toClient = (r: ClientRow): OAuthClient => ({
  id: r.id,
  tenantId: r.tenant_id,
  appId: r.app_id,
  name: r.name,
  secretHash: r.secret_hash,
  jwks: r.jwks ? (JSON.parse(r.jwks) as OAuthClient['jwks']) : null,
  jwksUri: r.jwks_uri,
  scopes: JSON.parse(r.scopes) as string[],
  tokenLifetimeSeconds: r.token_lifetime_seconds,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

interface SigningKeyRow {
  kid: string;
  alg: string;
  public_jwk: string;
  private_jwk_enc: string;
  status: SigningKey['status'];
  created_at: string;
  activated_at: string | null;
  retired_at: string | null;
  remove_after: string | null;
}

const toSigningKey = (r: SigningKeyRow): SigningKey => ({
  kid: r.kid,
  alg: r.alg,
  publicJwk: JSON.parse(r.public_jwk) as Record<string, unknown>,
  privateJwkEnc: r.private_jwk_enc,
  status: r.status,
  createdAt: r.created_at,
  activatedAt: r.activated_at,
  retiredAt: r.retired_at,
  removeAfter: r.remove_after,
});

interface KeyRow {
  id: string;
  tenant_id: string;
  app_id: string;
  name: string;
  hash: string;
  scopes: string;
  apis: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  rotated_to: string | null;
}

function toKey(r: KeyRow): ApiKeyRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    appId: r.app_id,
    name: r.name,
    hash: r.hash,
    scopes: JSON.parse(r.scopes) as string[],
    apis: JSON.parse(r.apis) as string[],
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    rotatedTo: r.rotated_to,
  };
}

const toTenant = (r: { id: string; name: string; created_at: string }): Tenant => ({
  id: r.id,
  name: r.name,
  createdAt: r.created_at,
});
const toApp = (r: { id: string; tenant_id: string; name: string; created_at: string }): App => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  createdAt: r.created_at,
});

export function migrate(db: Database.Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const current = (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
  if (current > latest) throw new Error(`database schema version ${current} is newer than this gateway (${latest})`);
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        new Date().toISOString(),
      );
    })();
  }
  return latest;
}

export function createSqliteStore(opts: { file: string; now?: () => Date }): Store {
  const now = opts.now ?? (() => new Date());
  if (opts.file !== ':memory:') mkdirSync(dirname(opts.file), { recursive: true });
  const db = new Database(opts.file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);

  const q = {
    insTenant: db.prepare('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)'),
    getTenant: db.prepare('SELECT * FROM tenants WHERE id = ?'),
    listTenants: db.prepare('SELECT * FROM tenants ORDER BY created_at, id'),
    insApp: db.prepare('INSERT INTO apps (id, tenant_id, name, created_at) VALUES (?, ?, ?, ?)'),
    getApp: db.prepare('SELECT * FROM apps WHERE id = ?'),
    listApps: db.prepare('SELECT * FROM apps ORDER BY created_at, id'),
    listAppsOf: db.prepare('SELECT * FROM apps WHERE tenant_id = ? ORDER BY created_at, id'),
    insKey: db.prepare(
      `INSERT INTO api_keys (id, tenant_id, app_id, name, hash, scopes, apis, created_at, expires_at)
       VALUES (@id, @tenant_id, @app_id, @name, @hash, @scopes, @apis, @created_at, @expires_at)`,
    ),
    getKey: db.prepare('SELECT * FROM api_keys WHERE id = ?'),
    listKeys: db.prepare(
      `SELECT * FROM api_keys WHERE (@tenant IS NULL OR tenant_id = @tenant) AND (@app IS NULL OR app_id = @app)
       ORDER BY created_at, id`,
    ),
    revokeKey: db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    rotateKey: db.prepare(
      'UPDATE api_keys SET rotated_to = ?, expires_at = CASE WHEN expires_at IS NULL OR expires_at > ? THEN ? ELSE expires_at END WHERE id = ?',
    ),
    insClient: db.prepare(
      `INSERT INTO oauth_clients (id, tenant_id, app_id, name, secret_hash, jwks, jwks_uri, scopes, token_lifetime_seconds, created_at)
       VALUES (@id, @tenant_id, @app_id, @name, @secret_hash, @jwks, @jwks_uri, @scopes, @token_lifetime_seconds, @created_at)`,
    ),
    getClient: db.prepare('SELECT * FROM oauth_clients WHERE id = ?'),
    listClients: db.prepare(
      `SELECT * FROM oauth_clients WHERE (@tenant IS NULL OR tenant_id = @tenant) AND (@app IS NULL OR app_id = @app)
       ORDER BY created_at, id`,
    ),
    revokeClient: db.prepare('UPDATE oauth_clients SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    listSigning: db.prepare('SELECT * FROM signing_keys ORDER BY created_at, kid'),
    putSigning: db.prepare(
      `INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk_enc, status, created_at, activated_at, retired_at, remove_after)
       VALUES (@kid, @alg, @public_jwk, @private_jwk_enc, @status, @created_at, @activated_at, @retired_at, @remove_after)
       ON CONFLICT (kid) DO UPDATE SET status = excluded.status, activated_at = excluded.activated_at,
         retired_at = excluded.retired_at, remove_after = excluded.remove_after`,
    ),
    delSigning: db.prepare('DELETE FROM signing_keys WHERE kid = ?'),
    revokeToken: db.prepare('INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)'),
    isRevoked: db.prepare('SELECT 1 AS x FROM revoked_tokens WHERE jti = ?'),
    useOnce: db.prepare('INSERT OR IGNORE INTO used_once (id, expires_at) VALUES (?, ?)'),
    purgeRevoked: db.prepare('DELETE FROM revoked_tokens WHERE expires_at < ?'),
    purgeOnce: db.prepare('DELETE FROM used_once WHERE expires_at < ?'),
  };

  const conflict = (err: unknown): never => {
    if (err instanceof Error && 'code' in err && String(err.code).startsWith('SQLITE_CONSTRAINT')) {
      throw new StoreConflictError('conflict');
    }
    throw err;
  };

  return {
    createTenant(t) {
      const createdAt = now().toISOString();
      try {
        q.insTenant.run(t.id, t.name, createdAt);
      } catch (err) {
        conflict(err);
      }
      return { ...t, createdAt };
    },
    getTenant: (id) => {
      const r = q.getTenant.get(id) as Parameters<typeof toTenant>[0] | undefined;
      return r && toTenant(r);
    },
    listTenants: () => (q.listTenants.all() as Parameters<typeof toTenant>[0][]).map(toTenant),
    createApp(a) {
      const createdAt = now().toISOString();
      try {
        q.insApp.run(a.id, a.tenantId, a.name, createdAt);
      } catch (err) {
        conflict(err);
      }
      return { ...a, createdAt };
    },
    getApp: (id) => {
      const r = q.getApp.get(id) as Parameters<typeof toApp>[0] | undefined;
      return r && toApp(r);
    },
    listApps: (tenantId) =>
      ((tenantId ? q.listAppsOf.all(tenantId) : q.listApps.all()) as Parameters<typeof toApp>[0][]).map(toApp),
    createApiKey(k: NewApiKey) {
      const createdAt = now().toISOString();
      try {
        q.insKey.run({
          id: k.id,
          tenant_id: k.tenantId,
          app_id: k.appId,
          name: k.name,
          hash: k.hash,
          scopes: JSON.stringify(k.scopes),
          apis: JSON.stringify(k.apis),
          created_at: createdAt,
          expires_at: k.expiresAt,
        });
      } catch (err) {
        conflict(err);
      }
      return { ...k, createdAt, revokedAt: null, rotatedTo: null };
    },
    getApiKey: (id) => {
      const r = q.getKey.get(id) as KeyRow | undefined;
      return r && toKey(r);
    },
    listApiKeys: (f = {}) =>
      (q.listKeys.all({ tenant: f.tenantId ?? null, app: f.appId ?? null }) as KeyRow[]).map(toKey),
    revokeApiKey: (id, at) => q.revokeKey.run(at, id).changes > 0,
    markRotated(oldId, newId, expiresAt) {
      q.rotateKey.run(newId, expiresAt, expiresAt, oldId);
    },
    createOAuthClient(c) {
      const createdAt = now().toISOString();
      try {
        q.insClient.run({
          id: c.id,
          tenant_id: c.tenantId,
          app_id: c.appId,
          name: c.name,
          secret_hash: c.secretHash,
          jwks: c.jwks ? JSON.stringify(c.jwks) : null,
          jwks_uri: c.jwksUri,
          scopes: JSON.stringify(c.scopes),
          token_lifetime_seconds: c.tokenLifetimeSeconds,
          created_at: createdAt,
        });
      } catch (err) {
        conflict(err);
      }
      return { ...c, createdAt, revokedAt: null };
    },
    getOAuthClient: (id) => {
      const r = q.getClient.get(id) as ClientRow | undefined;
      return r && toClient(r);
    },
    listOAuthClients: (f = {}) =>
      (q.listClients.all({ tenant: f.tenantId ?? null, app: f.appId ?? null }) as ClientRow[]).map(toClient),
    revokeOAuthClient: (id, at) => q.revokeClient.run(at, id).changes > 0,
    listSigningKeys: () => (q.listSigning.all() as SigningKeyRow[]).map(toSigningKey),
    putSigningKey(k: SigningKey) {
      q.putSigning.run({
        kid: k.kid,
        alg: k.alg,
        public_jwk: JSON.stringify(k.publicJwk),
        private_jwk_enc: k.privateJwkEnc,
        status: k.status,
        created_at: k.createdAt,
        activated_at: k.activatedAt,
        retired_at: k.retiredAt,
        remove_after: k.removeAfter,
      });
    },
    deleteSigningKey: (kid) => void q.delSigning.run(kid),
    revokeToken: (jti, expiresAt) => q.revokeToken.run(jti, expiresAt).changes > 0,
    isTokenRevoked: (jti) => q.isRevoked.get(jti) !== undefined,
    useOnce: (id, expiresAt) => q.useOnce.run(id, expiresAt).changes > 0,
    purgeExpired(at) {
      q.purgeRevoked.run(at);
      q.purgeOnce.run(at);
    },
    // IMMEDIATE: a check-then-write from two processes serializes instead of failing with BUSY.
    transaction: (fn) => db.transaction(fn).immediate(),
    ping() {
      db.prepare('SELECT 1').get();
      return true;
    },
    close: () => db.close(),
  };
}
