// Assembles a running gateway from explicit options (no environment reads here; main.ts does
// that): store, limiter backends, policies, the public listener, the admin listener.
// Tests start gateways through this same function.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { POLICIES, policyRegistry } from '../policies/index.ts';
import type { LocalIssuer, PolicyDeps, PolicyDefinition } from '../policies/contract.ts';
import { createMemoryBuckets, createRedisBuckets, TOKEN_BUCKET_LUA, type BucketRedis } from '../policies/rate-limit/token-bucket.ts';
import type { Store } from '../store/store.ts';
import { createAccounts, type Accounts } from './accounts.ts';
import { createAdminApp } from './admin.ts';
import { createConfigLoader } from './config.ts';
import proxyaddr from 'proxy-addr';
import { GatewayError, PROBLEM_CONTENT_TYPE, toProblem } from '../policies/errors.ts';
import { createGateway, type Gateway } from './gateway.ts';
import { createDocsApp } from '../portal/docs.ts';
import { createAuthorizationServer } from './oauth/authorization-server.ts';
import { createRevocations } from './oauth/revocations.ts';
import { createSecretBox } from './oauth/secret-box.ts';
import { createSigningKeys, type SigningKeys } from './oauth/signing-keys.ts';
import { createMetrics, type GatewayMetrics } from './observability.ts';

export interface StartOptions {
  /** 32 bytes that encrypt secrets at rest (signing keys). */
  masterKey: Buffer;
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
  /** How often scheduled key rotation is checked (default hourly). */
  rotationCheckMs?: number;
}

export interface RunningGateway {
  gateway: Gateway;
  accounts: Accounts;
  metrics: GatewayMetrics;
  url: string;
  adminUrl: string;
  redis?: Redis;
  signingKeys: SigningKeys;
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
  const signingKeys = createSigningKeys({ store: o.store, box: createSecretBox(o.masterKey), now });
  const revocations = createRevocations({ store: o.store, redis, now });
  let gatewayRef: Gateway | undefined;
  const oauthSettings = () => gatewayRef?.config().oauth;
  const localIssuer: LocalIssuer = {
    get issuer() {
      return oauthSettings()?.issuer ?? '';
    },
    get audience() {
      return oauthSettings()?.audience ?? '';
    },
    verifier: (kid) => signingKeys.verifier(kid),
    isRevoked: (jti) => revocations.isRevoked(jti),
  };
  const deps: PolicyDeps = {
    store: o.store,
    now,
    logger: o.logger,
    metrics,
    memoryBuckets: createMemoryBuckets({ now }),
    sharedBuckets,
    redis,
    localIssuer,
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
  gatewayRef = gateway;
  const initialOAuth = gateway.config().oauth;
  if (initialOAuth) await signingKeys.ensure(initialOAuth.algorithm);
  const trustProxies = () => proxyaddr.compile([...gateway.config().server.trustedProxies]);
  const authorizationServer = createAuthorizationServer({
    settings: oauthSettings,
    store: o.store,
    keys: signingKeys,
    revocations,
    now,
    logger: o.logger,
    redis,
    clientIp: (req) => (gateway.config().server.trustedProxies.length > 0 ? proxyaddr(req, trustProxies()) : req.socket.remoteAddress ?? ''),
  });
  const docsApp = createDocsApp({
    versions: () =>
      gateway.config().apis.flatMap((api) =>
        api.versions.flatMap((v) => {
          const c = gateway.config().contracts.get(`${api.name}/${v.name}`);
          return c ? [{ api: api.name, version: v.name, basePath: v.basePath, document: c.document }] : [];
        }),
      ),
  });
  // Scheduled signing-key rotation, checked hourly; a no-op unless keyRotationDays is set.
  const rotationTimer = setInterval(() => {
    const s = oauthSettings();
    if (!s || s.keyRotationDays <= 0) return;
    signingKeys.rotateIfDue(s.algorithm, s.keyRotationDays * 86400, s.maxTokenLifetimeSeconds).catch((err: unknown) => o.logger.error({ err }, 'scheduled key rotation failed'));
    o.store.purgeExpired(new Date(now()).toISOString());
  }, o.rotationCheckMs ?? 3_600_000);
  rotationTimer.unref();

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
    const url = req.url ?? '';
    if (url.startsWith('/oauth/') || url.startsWith('/.well-known/')) {
      if (oauthSettings()) return void authorizationServer(req, res);
    }
    if (req.method === 'GET' && (url === '/docs' || url.startsWith('/docs/') || url.startsWith('/openapi/'))) return void docsApp(req, res);
    gateway.handle(req, res);
  };

  const accounts = createAccounts(o.store, now, (id) => credentialListeners.forEach((fn) => fn(id)));
  const adminApp = createAdminApp({ token: o.adminToken, accounts, gateway, metrics, logger: o.logger, ready, now, signingKeys });

  const publicServer = http.createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000, requestTimeout: 120_000 }, publicApp);
  // Requests Node's HTTP parser refuses never reach the gateway: answer them in the same
  // problem+json as everything else instead of Node's bare "400 Bad Request".
  publicServer.on('clientError', (err: Error & { code?: string }, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const { problem } = toProblem(new GatewayError('GW_BAD_REQUEST'));
    const body = JSON.stringify(problem);
    socket.end(
      `HTTP/1.1 ${problem.status} Bad Request\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  const adminServer = http.createServer(adminApp);
  const pub = await listen(publicServer, o.listen.host, o.listen.port);
  const adm = await listen(adminServer, o.admin.host, o.admin.port);

  return {
    gateway,
    accounts,
    metrics,
    redis,
    signingKeys,
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
      clearInterval(rotationTimer);
      gateway.close();
      redis?.disconnect();
    },
  };
}
