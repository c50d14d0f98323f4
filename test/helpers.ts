// Shared pieces of the end-to-end suites: free-port servers, a gateway started through the real
// start-up path (startGateway) on a config written for the test, and key issuing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../gateway/observability.ts';
import { startGateway, type RunningGateway } from '../gateway/server.ts';
import { createSqliteStore } from '../store/sqlite-store.ts';
import type { Store } from '../store/store.ts';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const V1 = join(ROOT, 'openapi/v1.yaml');
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export async function listenOn(handler: http.RequestListener): Promise<{ server: http.Server; url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** An upstream that answers with what it received: method, url, headers, body (base64). */
export function echoHandler(): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('base64'),
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  };
}

export interface TestGateway extends RunningGateway {
  store: Store;
  dir: string;
  configFile: string;
  logs: string[];
  writeConfig(yaml: string): void;
  issueKey(opts?: { tenant?: string; app?: string; scopes?: string[]; apis?: string[]; expiresAt?: string }): string;
}

export async function startTestGateway(yaml: string, opts: { env?: Record<string, string>; redisUrl?: string; now?: () => number; port?: number } = {}): Promise<TestGateway> {
  const dir = tempDir('qgw-test-');
  const configFile = join(dir, 'gateway.yaml');
  writeFileSync(configFile, yaml);
  const store = createSqliteStore({ file: join(dir, 'gateway.db') });
  const logs: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (s: string) => void logs.push(s) } });
  const gw = await startGateway({
    configFile,
    env: opts.env ?? {},
    store,
    logger,
    adminToken: ADMIN_TOKEN,
    masterKey: Buffer.alloc(32, 7),
    listen: { host: '127.0.0.1', port: opts.port ?? 0 },
    admin: { host: '127.0.0.1', port: 0 },
    redisUrl: opts.redisUrl,
    now: opts.now,
  });
  const ensured = new Set<string>();
  return {
    ...gw,
    store,
    dir,
    configFile,
    logs,
    writeConfig: (y) => writeFileSync(configFile, y),
    issueKey(o = {}) {
      const tenant = o.tenant ?? 'acme';
      const app = o.app ?? `${tenant}-app`;
      if (!ensured.has(tenant) && !store.getTenant(tenant)) gw.accounts.createTenant({ id: tenant, name: tenant });
      ensured.add(tenant);
      if (!store.getApp(app)) gw.accounts.createApp({ id: app, tenantId: tenant, name: app });
      return gw.accounts.issueKey({ appId: app, name: 'test', scopes: o.scopes ?? [], apis: o.apis ?? ['*'], expiresAt: o.expiresAt }).key;
    },
    async close() {
      await gw.close();
      store.close();
    },
  };
}

export interface EchoGateway extends TestGateway {
  /** The upstream: answers with what it received (echoHandler). */
  readonly echo: Awaited<ReturnType<typeof listenOn>>;
}

/** An echo upstream and a test gateway in front of it, configured from the upstream's URL; close() stops both. */
export async function startEchoGateway(config: (echoUrl: string) => string, opts: Parameters<typeof startTestGateway>[1] = {}): Promise<EchoGateway> {
  const echo = await listenOn(echoHandler());
  let gw: TestGateway;
  try {
    gw = await startTestGateway(config(echo.url), opts);
  } catch (err) {
    await echo.close();
    throw err;
  }
  return {
    ...gw,
    echo,
    async close() {
      await gw.close();
      await echo.close();
    },
  };
}

/** A config with one API `partner` v1 in front of `target`, with the given policies. */
export function partnerConfig(target: string, o: { policies?: string; routes?: string; openapi?: boolean; server?: string; upstream?: string } = {}): string {
  return `
server:
${o.server ?? '  trustedProxies: []'}
upstreams:
  - name: core
    target: ${target}
${o.upstream ?? ''}
apis:
  - name: partner
    policies:
${o.policies ?? '      []'}
    versions:
      - name: v1
        basePath: /v1
        upstream: core
        upstreamPath: /api
${o.openapi === false ? '' : `        openapi: ${V1}`}
        routes:
${
  o.routes ??
  `          - { method: GET, path: /work-orders }
          - { method: POST, path: /work-orders }
          - { method: GET, path: '/work-orders/{id}' }
          - { method: GET, path: /customers }
          - { method: POST, path: /customers }
          - { method: GET, path: '/customers/{id}' }`
}
`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tempDirs: string[] = [];
process.once('exit', () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory under the system temp dir, removed when the test process exits. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

/** One HTTP request with exactly these bytes and path (no client-side normalization). */
export function rawRequest(
  base: string,
  o: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer | string },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const r = http.request({ host: u.hostname, port: u.port, path: o.path, method: o.method ?? 'GET', headers: o.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    r.on('error', reject);
    r.end(o.body);
  });
}

/** The environment of a gateway process (gateway/main.ts) on ephemeral loopback ports, no demo. */
export function gatewayProcessEnv(o: { config: string; dataDir: string; coreUrl: string; adminToken?: string; logLevel?: string; extra?: Record<string, string> }): Record<string, string> {
  return {
    QGW_CONFIG: o.config,
    QGW_DATA_DIR: o.dataDir,
    QGW_HOST: '127.0.0.1',
    QGW_PORT: '0',
    QGW_ADMIN_PORT: '0',
    QGW_ADMIN_TOKEN: o.adminToken ?? ADMIN_TOKEN,
    QGW_DEMO: '0',
    CORE_URL: o.coreUrl,
    LOG_LEVEL: o.logLevel ?? 'silent',
    ...o.extra,
  };
}
