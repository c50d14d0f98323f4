// The admin API and CLI, reloads (HTTP and SIGHUP-equivalent), metrics, health, and logs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import request from 'supertest';
import { ADMIN_TOKEN, echoHandler, listenOn, partnerConfig, ROOT, sleep, startEchoGateway, startTestGateway, type EchoGateway } from './helpers.ts';

const run = promisify(execFile);
const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

describe('admin API', () => {
  let gw: EchoGateway;
  before(async () => {
    gw = await startEchoGateway((echoUrl) => partnerConfig(echoUrl, { openapi: false, policies: '      - policy: api-key' }));
  });
  after(() => gw.close());

  test('refuses calls without the admin token', async () => {
    for (const h of [{}, { Authorization: 'Bearer wrong' }, { Authorization: ADMIN_TOKEN }]) {
      const res = await request(gw.adminUrl).get('/admin/keys').set(h);
      assert.equal(res.status, 401);
      assert.equal(res.body.code, 'GW_ADMIN_AUTH_REQUIRED');
    }
  });

  test('tenants, apps and keys: the secret is shown once and never listed', async () => {
    const t = await request(gw.adminUrl).post('/admin/tenants').set(auth).send({ id: 'globex', name: 'Globex' });
    assert.equal(t.status, 201);
    const dup = await request(gw.adminUrl).post('/admin/tenants').set(auth).send({ id: 'globex', name: 'Again' });
    assert.equal(dup.status, 400);
    const a = await request(gw.adminUrl).post('/admin/apps').set(auth).send({ tenantId: 'globex', name: 'Dispatch' });
    assert.equal(a.status, 201);
    const k = await request(gw.adminUrl).post('/admin/keys').set(auth).send({ appId: a.body.id, scopes: ['work-orders:write'], expiresInSeconds: 3600 });
    assert.equal(k.status, 201);
    assert.match(k.body.key, /^qk_[0-9a-f]{12}_/);
    assert.equal(k.body.status, 'active');
    const listed = await request(gw.adminUrl).get(`/admin/keys?app=${a.body.id}`).set(auth);
    assert.equal(listed.body.items.length, 1);
    const text = JSON.stringify(listed.body);
    assert.ok(!text.includes(k.body.key.split('_')[2]), 'no secret in listings');
    assert.ok(!text.includes('hash'), 'no hash in listings');
    assert.equal((await request(gw.url).get('/v1/work-orders').set('X-API-Key', k.body.key)).status, 200);

    const rot = await request(gw.adminUrl).post(`/admin/keys/${k.body.id}/rotate`).set(auth).send({ overlapSeconds: 60 });
    assert.equal(rot.status, 201);
    assert.equal(rot.body.previous.rotatedTo, rot.body.id);
    assert.equal((await request(gw.url).get('/v1/work-orders').set('X-API-Key', k.body.key)).status, 200, 'old key works during the overlap');
    assert.equal((await request(gw.url).get('/v1/work-orders').set('X-API-Key', rot.body.key)).status, 200);

    const rev = await request(gw.adminUrl).post(`/admin/keys/${rot.body.id}/revoke`).set(auth);
    assert.equal(rev.body.status, 'revoked');
    assert.equal((await request(gw.url).get('/v1/work-orders').set('X-API-Key', rot.body.key)).status, 401);
  });

  test('bad admin input gets problem+json with pointers', async () => {
    const res = await request(gw.adminUrl).post('/admin/keys').set(auth).send({ scopes: 'all', colour: 'red' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'GW_ADMIN_BAD_REQUEST');
    const pointers = (res.body.errors as { pointer: string }[]).map((e) => e.pointer).sort();
    assert.deepEqual(pointers, ['/appId', '/colour', '/scopes']);
    const broken = await request(gw.adminUrl).post('/admin/tenants').set(auth).set('Content-Type', 'application/json').send('{"name":');
    assert.equal(broken.status, 400);
    assert.ok(!JSON.stringify(broken.body).includes('Unexpected'), 'no parser text');
    const missing = await request(gw.adminUrl).post('/admin/keys/qk_000000000000/revoke').set(auth);
    assert.equal(missing.status, 404);
  });

  test('the config listing hides secret header values', async () => {
    const res = await request(gw.adminUrl).get('/admin/config').set(auth);
    assert.equal(res.status, 200);
    assert.equal(res.body.apis[0].name, 'partner');
  });

  test('health, readiness and metrics', async () => {
    assert.equal((await request(gw.url).get('/healthz')).status, 200);
    const ready = await request(gw.adminUrl).get('/readyz');
    assert.deepEqual(ready.body, { status: 'ready', checks: { store: true } });
    assert.equal((await request(gw.url).get('/v1/work-orders').set('X-API-Key', gw.issueKey())).status, 200);
    const m = await request(gw.adminUrl).get('/metrics');
    assert.match(m.headers['content-type']!, /text\/plain/);
    assert.match(m.text, /qgw_requests_total\{route="partner\.v1\.GET \/work-orders",method="GET",status="200"\} \d+/);
    assert.match(m.text, /qgw_request_duration_seconds_bucket/);
  });

  test('one log line per request, with no credential in it', async () => {
    const key = gw.issueKey();
    gw.logs.length = 0;
    await request(gw.url).get('/v1/work-orders').set('X-API-Key', key).set('X-Request-Id', 'log-check-1');
    await sleep(20);
    const lines = gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.requestId === 'log-check-1');
    assert.equal(lines.length, 1);
    const l = lines[0]!;
    assert.equal(l.status, 200);
    assert.equal(l.tenant, 'acme');
    assert.equal(l.route, 'partner.v1.GET /work-orders');
    assert.equal(typeof l.latencyMs, 'number');
    assert.equal(typeof l.upstreamMs, 'number');
    assert.ok(!gw.logs.join('').includes(key.split('_')[2]!));
  });
});

describe('reload', () => {
  test('an in-flight request finishes on its pipeline while the new one serves new calls; none fails', async () => {
    const slowEcho = await listenOn((req, res) => void setTimeout(() => echoHandler()(req, res), 150));
    const gw = await startTestGateway(partnerConfig(slowEcho.url, { openapi: false }));
    try {
      const inflight = Array.from({ length: 40 }, (_, i) => sleep(i * 10).then(() => request(gw.url).get('/v1/work-orders')));
      await sleep(100);
      // Version 2 of the file forwards to another upstream path.
      gw.writeConfig(partnerConfig(slowEcho.url, { openapi: false }).replace('upstreamPath: /api', 'upstreamPath: /api2'));
      const r = await request(gw.adminUrl).post('/admin/reload').set(auth);
      assert.equal(r.status, 200);
      const results = await Promise.all(inflight);
      assert.ok(results.every((x) => x.status === 200), results.map((x) => x.status).join(','));
      const paths = new Set(results.map((x) => x.body.url as string));
      assert.deepEqual([...paths].sort(), ['/api/work-orders', '/api2/work-orders']);
      assert.equal((await request(gw.url).get('/v1/work-orders')).body.url, '/api2/work-orders');
    } finally {
      await gw.close();
      await slowEcho.close();
    }
  });

  test('an invalid file leaves the running config in place and says why', async () => {
    const gw = await startEchoGateway((echoUrl) => partnerConfig(echoUrl, { openapi: false }));
    try {
      gw.writeConfig(partnerConfig(gw.echo.url, { openapi: false, policies: '      - policy: rate-limit\n        config: { capacity: -1 }' }));
      const r = await request(gw.adminUrl).post('/admin/reload').set(auth);
      assert.equal(r.status, 422);
      assert.equal(r.body.code, 'GW_CONFIG_INVALID');
      const pointers = (r.body.errors as { pointer: string }[]).map((e) => e.pointer);
      assert.ok(pointers.includes('/apis/0/policies/0/config/capacity'), pointers.join());
      assert.ok(pointers.includes('/apis/0/policies/0/config/refillPerSecond'), pointers.join());
      assert.equal((await request(gw.url).get('/v1/work-orders')).status, 200, 'old config still serves');
      // A config valid on its own but refused when building the pipeline is refused the same way.
      gw.writeConfig(partnerConfig(gw.echo.url, { openapi: false, policies: '      - policy: validate' }));
      const r2 = await request(gw.adminUrl).post('/admin/reload').set(auth);
      assert.equal(r2.status, 422);
      assert.match(JSON.stringify(r2.body.errors), /no operation in the OpenAPI document/);
    } finally {
      await gw.close();
    }
  });
});

describe('CLI', () => {
  test('operators manage tenants, apps and keys through the admin API', async () => {
    const gw = await startEchoGateway((echoUrl) => partnerConfig(echoUrl, { openapi: false, policies: '      - policy: api-key' }));
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', join(ROOT, 'gateway/cli.ts'), '--admin-url', gw.adminUrl, '--token', ADMIN_TOKEN, ...args]).then((r) => JSON.parse(r.stdout));
    try {
      await cli('tenants', 'create', '--id', 'initech', '--name', 'Initech');
      await cli('apps', 'create', '--tenant', 'initech', '--id', 'tps', '--name', 'TPS');
      const k = await cli('keys', 'create', '--app', 'tps', '--scopes', 'work-orders:write');
      assert.deepEqual(k.scopes, ['work-orders:write']);
      assert.equal((await request(gw.url).get('/v1/work-orders').set('X-API-Key', k.key)).status, 200);
      const listed = await cli('keys', 'list', '--tenant', 'initech');
      assert.equal(listed.items[0].id, k.id);
      const c = await cli('clients', 'create', '--app', 'tps', '--scopes', 'work-orders:read');
      assert.match(c.clientSecret, /^[A-Za-z0-9_-]{43}$/);
      assert.equal((await cli('clients', 'list', '--app', 'tps')).items[0].id, c.id);
      assert.equal((await cli('clients', 'revoke', c.id)).revokedAt !== null, true);
      await cli('keys', 'revoke', k.id);
      assert.equal((await request(gw.url).get('/v1/work-orders').set('X-API-Key', k.key)).status, 401);
      const bad = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'gateway/cli.ts'), '--admin-url', gw.adminUrl, '--token', 'nope', 'tenants', 'list']).catch((e: { code: number; stderr: string }) => e);
      assert.equal((bad as { code: number }).code, 1);
      assert.match((bad as { stderr: string }).stderr, /401 GW_ADMIN_AUTH_REQUIRED/);
    } finally {
      await gw.close();
    }
  });
});
