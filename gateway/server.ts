// Assembles a running gateway from explicit options (no environment reads here; main.ts does
// that): store, limiter backends, policies, the public listener, the admin listener.
// Tests start gateways through this same function.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { POLICIES, policyRegistry } from '../policies/index.ts';
import type { PolicyDeps, PolicyDefinition } from '../policies/contract.ts';
import { createMemoryBuckets, createRedisBuckets, TOKEN_BUCKET_LUA, type BucketRedis } from '../policies/rate-limit/token-bucket.ts';
import type { Store } from '../store/store.ts';
import { createAccounts, type Accounts } from './accounts.ts';
import { createAdminApp } from './admin.ts';
import { createConfigLoader } from './config.ts';
import { createGateway, type Gateway } from './gateway.ts';
import { createMetrics, type GatewayMetrics } from './observability.ts';

export interface StartOptions {
  configFile: string;
  /** Values for `${VAR}` and `{ env: VAR }` in the config. */
  env: Readonly<Record<string, string | undefined>>;
  store: Store;
  logger: Logger;
  adminToken: string;
  listen: { host: string; port: number };
  admin: { host: string; port: number };
  redisUrl?: string;
  policies?: readonly PolicyDefinition<any>[];
  now?: () => number;
}

export interface RunningGateway {
  gateway: Gateway;
  accounts: Accounts;
  metrics: GatewayMetrics;
  url: string;
  adminUrl: string;
  redis?: Redis;
  close(): Promise<void>;
}

function listen(server: http.Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

const hostOf = (a: AddressInfo) => (a.family === 'IPv6' ? `[${a.address}]` : a.address);

export async function startGateway(o: StartOptions): Promise<RunningGateway> {
  const now = o.now ?? Date.now;
  const policies = o.policies ?? POLICIES;
  const registry = policyRegistry(policies);
  const loader = createConfigLoader(policies);
  const metrics = createMetrics();

  let redis: Redis | undefined;
  let sharedBuckets;
  if (o.redisUrl) {
    redis = new Redis(o.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 250,
      connectTimeout: 1000,
      retryStrategy: (n) => Math.min(200 * n, 2000),
    });
    let lastLog = 0;
    redis.on('error', (err: Error & { code?: string }) => {
      if (now() - lastLog > 5000) {
        lastLog = now();
        o.logger.warn({ code: err.code }, 'redis unavailable');
      }
    });
    redis.defineCommand('qgwTake', { numberOfKeys: 1, lua: TOKEN_BUCKET_LUA });
    sharedBuckets = createRedisBuckets(redis as unknown as BucketRedis);
  }

  const credentialListeners = new Set<(id: string) => void>();
  const kept = new Map<string, unknown>();
  const deps: PolicyDeps = {
    store: o.store,
    now,
    logger: o.logger,
    metrics,
    memoryBuckets: createMemoryBuckets({ now }),
    sharedBuckets,
    redis,
    credentialChanges: { subscribe: (fn) => void credentialListeners.add(fn) },
    keep<T>(key: string, make: () => T): T {
      if (!kept.has(key)) kept.set(key, make());
      return kept.get(key) as T;
    },
  };

  const gateway = await createGateway({
    registry,
    deps,
    logger: o.logger,
    metrics,
    loadConfig: () => loader.load(o.configFile, o.env),
  });

  const ready = async () => {
    const checks: Record<string, boolean> = {};
    try {
      checks.store = o.store.ping();
    } catch {
      checks.store = false;
    }
    if (redis) {
      try {
        checks.redis = (await redis.ping()) === 'PONG';
      } catch {
        checks.redis = false;
      }
    }
    return { ok: Object.values(checks).every(Boolean), checks };
  };

  // The public listener is a plain handler: the proxy path is hot, and a router in front of the
  // gateway's own route table would only repeat the match.
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  };
  const publicApp: http.RequestListener = (req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') return json(res, 200, { status: 'ok' });
    if (req.method === 'GET' && req.url === '/readyz') {
      void ready().then((r) => json(res, r.ok ? 200 : 503, { status: r.ok ? 'ready' : 'not-ready' }));
      return;
    }
    gateway.handle(req, res);
  };

  const accounts = createAccounts(o.store, now, (id) => credentialListeners.forEach((fn) => fn(id)));
  const adminApp = createAdminApp({ token: o.adminToken, accounts, gateway, metrics, logger: o.logger, ready, now });

  const publicServer = http.createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000, requestTimeout: 120_000 }, publicApp);
  const adminServer = http.createServer(adminApp);
  const pub = await listen(publicServer, o.listen.host, o.listen.port);
  const adm = await listen(adminServer, o.admin.host, o.admin.port);

  return {
    gateway,
    accounts,
    metrics,
    redis,
    url: `http://${hostOf(pub)}:${pub.port}`,
    adminUrl: `http://${hostOf(adm)}:${adm.port}`,
    async close() {
      await Promise.all(
        [publicServer, adminServer].map(
          (s) =>
            new Promise<void>((r) => {
              s.close(() => r());
              s.closeAllConnections();
            }),
        ),
      );
      gateway.close();
      redis?.disconnect();
    },
  };
}
