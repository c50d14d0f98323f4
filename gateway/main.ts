// The gateway process: the only place that reads process.env. With no settings it runs the
// embedded default (SQLite under ./data, in-memory limits) in front of the reference core
// service, and on first start creates a demo tenant, app and key and prints curl lines.
//
// Environment: QGW_CONFIG, QGW_HOST, QGW_PORT, QGW_ADMIN_HOST, QGW_ADMIN_PORT, QGW_ADMIN_TOKEN,
// QGW_DATA_DIR, QGW_MASTER_KEY, QGW_ISSUER (for the shipped config), REDIS_URL, CORE_URL (unset: the reference core service is started here),
// LOG_LEVEL, QGW_DEMO (0 to skip the demo tenant).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCoreService } from '../core-service/core-service.ts';
import { createSqliteStore } from '../store/sqlite-store.ts';
import { ConfigError } from './config.ts';
import { createLogger } from './observability.ts';
import { startGateway } from './server.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const env = process.env;
const logger = createLogger({ level: env.LOG_LEVEL ?? 'info' });
const dataDir = resolve(env.QGW_DATA_DIR ?? join(root, 'data'));
mkdirSync(dataDir, { recursive: true });

function adminToken(): { token: string; file?: string } {
  if (env.QGW_ADMIN_TOKEN) return { token: env.QGW_ADMIN_TOKEN };
  const file = join(dataDir, 'admin-token');
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('base64url') + '\n', { mode: 0o600 });
  return { token: readFileSync(file, 'utf8').trim(), file };
}

/** The key that encrypts secrets at rest: QGW_MASTER_KEY (base64, 32 bytes) or a generated file. */
function masterKey(): Buffer {
  if (env.QGW_MASTER_KEY) {
    const k = Buffer.from(env.QGW_MASTER_KEY, 'base64');
    if (k.length !== 32) throw new Error('QGW_MASTER_KEY must be 32 bytes, base64-encoded');
    return k;
  }
  const file = join(dataDir, 'master-key');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
}

async function main() {
  const configEnv: Record<string, string | undefined> = { ...env };
  configEnv.QGW_ISSUER ??= `http://127.0.0.1:${env.QGW_PORT ?? 8080}`;
  if (!env.CORE_URL) {
    const core = createCoreService({ file: join(dataDir, 'core.db') });
    const server = http.createServer(core.app);
    await new Promise<void>((r) => server.listen(Number(env.QGW_CORE_PORT ?? 0), '127.0.0.1', r));
    configEnv.CORE_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    logger.info({ url: configEnv.CORE_URL }, 'reference core service started');
  }
  const store = createSqliteStore({ file: join(dataDir, 'gateway.db') });
  const admin = adminToken();
  const configFile = resolve(env.QGW_CONFIG ?? join(root, 'config/gateway.yaml'));
  const gw = await startGateway({
    configFile,
    env: configEnv,
    store,
    logger,
    adminToken: admin.token,
    masterKey: masterKey(),
    listen: { host: env.QGW_HOST ?? '0.0.0.0', port: Number(env.QGW_PORT ?? 8080) },
    admin: { host: env.QGW_ADMIN_HOST ?? '127.0.0.1', port: Number(env.QGW_ADMIN_PORT ?? 8081) },
    redisUrl: env.REDIS_URL,
  });
  const publicUrl = gw.url.replace('0.0.0.0', '127.0.0.1');
  logger.info({ url: gw.url, admin: gw.adminUrl, config: configFile, redis: Boolean(env.REDIS_URL) }, 'gateway listening');

  process.on('SIGHUP', () => {
    void gw.gateway.reload().then((r) => {
      if (!r.ok) for (const p of r.problems) logger.warn(p, 'config problem');
    });
  });
  const stop = () => {
    logger.info('shutting down');
    void gw.close().then(() => {
      store.close();
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  if (env.QGW_DEMO !== '0') printDemo(gw.accounts, publicUrl, gw.adminUrl, admin.file);
  if (process.send) process.send({ ready: true, url: gw.url, adminUrl: gw.adminUrl });
}

function printDemo(accounts: Awaited<ReturnType<typeof startGateway>>['accounts'], url: string, adminUrl: string, tokenFile?: string) {
  const out: string[] = [];
  const tokenHint = tokenFile ? `$(cat ${tokenFile})` : '$QGW_ADMIN_TOKEN';
  if (accounts.listTenants().some((t) => t.id === 'demo')) {
    out.push(
      '',
      'Quant Gateway is running with the demo tenant created on first start.',
      'Its first key was printed then; issue another with:',
      `  npm run gw -- keys create --app demo-app --scopes work-orders:write,customers:write`,
      '',
    );
  } else {
    accounts.createTenant({ id: 'demo', name: 'Demo Field Services' });
    accounts.createApp({ id: 'demo-app', tenantId: 'demo', name: 'Demo app' });
    const { key } = accounts.issueKey({ appId: 'demo-app', name: 'demo', scopes: ['work-orders:write', 'customers:write'], apis: ['partner'] });
    const oauthClient = accounts.createClient({ appId: 'demo-app', name: 'demo', scopes: ['work-orders:write', 'customers:write'], tokenLifetimeSeconds: 3600 });
    out.push(
      '',
      'Quant Gateway is running. A demo tenant and app were created; this API key is shown once:',
      '',
      `  export QGW_KEY=${key}`,
      '',
      'Try it:',
      `  curl -s -H "X-API-Key: $QGW_KEY" ${url}/v1/work-orders`,
      `  curl -s -H "X-API-Key: $QGW_KEY" -H 'Content-Type: application/json' \\`,
      `       -d '{"summary":"Replace compressor","priority":"high","customer":{"name":"Acme Dental"},"lineItems":[{"kind":"part","sku":"CMP-200","description":"Compressor","quantity":1,"unitPrice":{"amount":45000,"currency":"USD"}}]}' \\`,
      `       ${url}/v1/work-orders`,
      `  # a validation error (400 problem+json listing every error):`,
      `  curl -s -H "X-API-Key: $QGW_KEY" -H 'Content-Type: application/json' -d '{"priority":"sometime"}' ${url}/v1/work-orders`,
      `  # a burst past the rate limit (10 burst, 2/s): the last calls answer 429`,
      `  for i in $(seq 15); do curl -s -o /dev/null -w '%{http_code} ' -H "X-API-Key: $QGW_KEY" ${url}/v1/work-orders; done; echo`,
      '',
      'OAuth 2.0 client credentials (this client secret is also shown once):',
      '',
      `  export QGW_CLIENT_ID=${oauthClient.client.id} QGW_CLIENT_SECRET=${oauthClient.secret}`,
      `  export QGW_TOKEN=$(curl -s -u "$QGW_CLIENT_ID:$QGW_CLIENT_SECRET" -d grant_type=client_credentials ${url}/oauth/token | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')`,
      `  curl -s -H "Authorization: Bearer $QGW_TOKEN" ${url}/v1/work-orders`,
      '',
      `API docs: ${url}/docs   Admin API: ${adminUrl}/admin (Authorization: Bearer ${tokenHint})`,
      '',
    );
  }
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    for (const p of err.problems) process.stderr.write(`config error: ${p.file}#${p.pointer}: ${p.message}\n`);
  } else if (err && typeof err === 'object' && 'code' in err && err.code === 'EADDRINUSE') {
    process.stderr.write(`cannot listen: ${(err as { address?: string; port?: number }).address}:${(err as { port?: number }).port} is in use (set QGW_PORT / QGW_ADMIN_PORT)\n`);
  } else {
    logger.error({ err }, 'gateway failed to start');
  }
  process.exit(1);
});
