// Two gateway processes share one real redis-server: one token bucket across both is exact, and
// when Redis dies under load the configured fallback (fail-open onto local buckets) takes over
// with no 5xx of the gateway's own.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN, echoHandler, gatewayProcessEnv, listenOn, partnerConfig, ROOT, sleep, tempDir } from './helpers.ts';
import { startRedis, type RedisServer } from './redis-server.ts';

const CAPACITY = 20;
const EXTRA = 40;

let redis: RedisServer;
let upstream: Awaited<ReturnType<typeof listenOn>>;
const procs: ChildProcess[] = [];
const gateways: { url: string; adminUrl: string }[] = [];

function startProcess(env: Record<string, string>): Promise<{ url: string; adminUrl: string }> {
  const child = fork(join(ROOT, 'gateway/main.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  procs.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('gateway process did not start')), 20_000);
    child.once('message', (m: { url: string; adminUrl: string }) => {
      clearTimeout(timer);
      resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`gateway process exited with ${code}`)));
  });
}

async function issueKey(adminUrl: string, app: string): Promise<string> {
  const h = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const post = (path: string, body: unknown) => fetch(`${adminUrl}/admin${path}`, { method: 'POST', headers: h, body: JSON.stringify(body) });
  await post('/tenants', { id: `t-${app}`, name: app });
  await post('/apps', { id: app, tenantId: `t-${app}`, name: app });
  const r = await post('/keys', { appId: app });
  return ((await r.json()) as { key: string }).key;
}

before(async () => {
  redis = await startRedis();
  upstream = await listenOn(echoHandler());
  const dir = tempDir('qgw-mp-');
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    `oauth:\n  issuer: http://127.0.0.1:1\n  audience: quant\n` +
    partnerConfig('${CORE_URL}', {
      openapi: false,
      policies: `      - policy: api-key
        config: { optional: true }
      - policy: jwt
        config: { optional: true, issuers: [{ issuer: self }] }
      - policy: rate-limit
        config: { capacity: ${CAPACITY}, refillPerSecond: 0.01, key: [credential], onStoreError: open }`,
    }),
  );
  const env = gatewayProcessEnv({ config, dataDir: dir, coreUrl: upstream.url, extra: { REDIS_URL: redis.url } });
  gateways.push(await startProcess(env), await startProcess(env));
});

after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await redis.kill();
  await upstream.close();
});

test(`${CAPACITY + EXTRA} concurrent requests over two processes: exactly ${CAPACITY} accepted`, async () => {
  const key = await issueKey(gateways[0]!.adminUrl, 'exact');
  const calls = Array.from({ length: CAPACITY + EXTRA }, (_, i) =>
    fetch(`${gateways[i % 2]!.url}/v1/work-orders`, { headers: { 'x-api-key': key } }).then(async (r) => {
      await r.arrayBuffer();
      return r.status;
    }),
  );
  const statuses = await Promise.all(calls);
  assert.equal(statuses.filter((s) => s === 200).length, CAPACITY, statuses.join(','));
  assert.equal(statuses.filter((s) => s === 429).length, EXTRA);
  const byProcess = [0, 1].map((p) => statuses.filter((s, i) => i % 2 === p && s === 200).length);
  assert.ok(byProcess[0]! > 0 && byProcess[1]! > 0, `both processes served some: ${byProcess}`);
});

test('Redis killed during load: fail-open onto local buckets, no 5xx from the gateway', async () => {
  const key = await issueKey(gateways[1]!.adminUrl, 'outage');
  const statuses: number[] = [];
  const deadline = Date.now() + 3000;
  let killed = false;
  const worker = async (w: number) => {
    for (let i = 0; Date.now() < deadline; i++) {
      const r = await fetch(`${gateways[(w + i) % 2]!.url}/v1/work-orders`, { headers: { 'x-api-key': key } });
      await r.arrayBuffer();
      statuses.push(r.status);
      await sleep(5);
    }
  };
  const load = Promise.all([0, 1, 2, 3].map(worker));
  await sleep(800);
  await redis.kill();
  killed = true;
  await load;
  assert.ok(killed);
  assert.ok(statuses.length > 50, `${statuses.length} requests`);
  const fivexx = statuses.filter((s) => s >= 500);
  assert.deepEqual(fivexx, [], 'no 5xx of the gateway own');
  assert.ok(statuses.every((s) => s === 200 || s === 429));
  for (const g of gateways) {
    const metrics = await (await fetch(`${g.adminUrl}/metrics`)).text();
    assert.match(metrics, /qgw_limiter_decisions_total\{policy="default",decision="fallback"\} [1-9]/);
    const ready = await fetch(`${g.adminUrl}/readyz`);
    assert.equal(ready.status, 503, 'readiness reports Redis down');
  }
});

test('a token revoked through one process is refused by the other at once (Redis), until it expires', async () => {
  const redis2 = await startRedis();
  // The outage test killed the first Redis; this one uses a fresh pair of processes on a new one.
  const dir = tempDir('qgw-mp-oauth-');
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    `oauth:\n  issuer: http://127.0.0.1:1\n  audience: quant\n` +
      partnerConfig('${CORE_URL}', { openapi: false, policies: '      - policy: jwt\n        config: { issuers: [{ issuer: self }] }' }),
  );
  const env = gatewayProcessEnv({ config, dataDir: dir, coreUrl: upstream.url, extra: { REDIS_URL: redis2.url, QGW_MASTER_KEY: Buffer.alloc(32, 3).toString('base64') } });
  try {
    const [a, b] = [await startProcess(env), await startProcess(env)];
    const h = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const post = (path: string, body: unknown) => fetch(`${a.adminUrl}/admin${path}`, { method: 'POST', headers: h, body: JSON.stringify(body) }).then((r) => r.json() as Promise<Record<string, string>>);
    await post('/tenants', { id: 'rv', name: 'rv' });
    await post('/apps', { id: 'rv-app', tenantId: 'rv', name: 'rv' });
    const client = await post('/oauth/clients', { appId: 'rv-app' });
    const basic = `Basic ${Buffer.from(`${client.id}:${client.clientSecret}`).toString('base64')}`;
    const form = (body: Record<string, string>) => ({ method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body).toString() });
    const token = ((await (await fetch(`${a.url}/oauth/token`, form({ grant_type: 'client_credentials' }))).json()) as { access_token: string }).access_token;
    const callB = async () => (await fetch(`${b.url}/v1/work-orders`, { headers: { authorization: `Bearer ${token}` } })).status;
    assert.equal(await callB(), 200);
    assert.equal((await fetch(`${a.url}/oauth/revoke`, form({ token }))).status, 200);
    assert.equal(await callB(), 401);
    const jti = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string;
    const { Redis } = await import('ioredis');
    const r = new Redis(redis2.url);
    const ttl = await r.pttl(`qgw:revoked:${jti}`);
    r.disconnect();
    assert.ok(ttl > 0 && ttl <= 3_600_000 + 1000, `the revocation lives in Redis until the token expires (pttl ${ttl})`);
  } finally {
    await redis2.kill();
  }
});
