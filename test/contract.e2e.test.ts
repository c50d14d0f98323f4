// The shipped config in front of the reference core service: every operation of v1 and v2
// called through the gateway, each response checked against its version's document; the v1↔v2
// mapping both ways; cursor pagination; the docs; response checks in development mode.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { createCoreService } from '../core-service/core-service.ts';
import { loadContract, type Contract } from '../openapi/contract.ts';
import { listenOn, ROOT, startTestGateway, tempDir, type TestGateway } from './helpers.ts';

let core: Awaited<ReturnType<typeof listenOn>>;
let gw: TestGateway;
let key: string;
const contracts: Record<string, Contract> = {};

before(async () => {
  core = await listenOn(createCoreService().app);
  gw = await startTestGateway(readFileSync(join(ROOT, 'config/gateway.yaml'), 'utf8')
      .replaceAll('../openapi/', `${ROOT}/openapi/`)
      .replace('capacity: 10, refillPerSecond: 2', 'capacity: 10000, refillPerSecond: 1000'), {
    env: { CORE_URL: core.url, QGW_ISSUER: 'http://127.0.0.1:1' },
  });
  key = gw.issueKey({ tenant: 'acme', scopes: ['work-orders:write', 'customers:write', 'technicians:write', 'invoices:write', 'webhooks:write'] });
  for (const v of ['v1', 'v2']) contracts[v] = await loadContract(join(ROOT, `openapi/${v}.yaml`));
});
after(async () => {
  await gw.close();
  await core.close();
});

const call = (method: 'get' | 'post' | 'delete', path: string, body?: unknown) => {
  const r = request(gw.url)[method](path).set('X-API-Key', key);
  return body === undefined ? r : r.send(body as object);
};

function conforms(version: string, method: string, template: string, res: request.Response) {
  const op = contracts[version]!.find(method, template);
  assert.ok(op, `${version} ${method} ${template} is in the document`);
  const errors = op.validateResponse(res.status, res.body);
  assert.deepEqual(errors, [], `${version} ${method} ${template} → ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
}

describe('contract: every operation of each version, through the gateway', () => {
  for (const version of ['v1', 'v2']) {
    test(version, async () => {
      const customer = await call('post', `/${version}/customers`, { name: 'Acme Dental', email: 'ops@acme.example', billingAddress: { postalCode: '02110', country: 'US' } });
      assert.equal(customer.status, 201);
      conforms(version, 'POST', '/customers', customer);
      conforms(version, 'GET', '/customers', await call('get', `/${version}/customers?limit=5`));
      conforms(version, 'GET', '/customers/{id}', await call('get', `/${version}/customers/${customer.body.id}`));
      const wo = await call('post', `/${version}/work-orders`, {
        summary: 'Replace compressor',
        priority: 'high',
        customer: { id: customer.body.id },
        schedule: { start: '2026-12-04T09:00:00Z', end: '2026-12-04T11:00:00Z' },
        lineItems: [{ kind: 'part', sku: 'CMP-200', description: 'Compressor', quantity: 1, unitPrice: { amount: 184500, currency: 'USD' } }],
      });
      assert.equal(wo.status, 201);
      conforms(version, 'POST', '/work-orders', wo);
      conforms(version, 'GET', '/work-orders', await call('get', `/${version}/work-orders?limit=3`));
      conforms(version, 'GET', '/work-orders/{id}', await call('get', `/${version}/work-orders/${wo.body.id}`));
      const missing = await call('get', `/${version}/work-orders/00000000-0000-4000-8000-000000000000`);
      assert.equal(missing.status, 404);
      conforms(version, 'GET', '/work-orders/{id}', missing);
      const invalid = await call('post', `/${version}/work-orders`, { priority: 'someday' });
      assert.equal(invalid.status, 400);
      conforms(version, 'POST', '/work-orders', invalid);

      const tech = await call('post', `/${version}/technicians`, { name: 'Dana Ruiz', skills: ['hvac'] });
      assert.equal(tech.status, 201);
      conforms(version, 'POST', '/technicians', tech);
      conforms(version, 'GET', '/technicians', await call('get', `/${version}/technicians`));
      conforms(version, 'GET', '/technicians/{id}', await call('get', `/${version}/technicians/${tech.body.id}`));
      const assigned = await call('post', `/${version}/work-orders`, { summary: 'Assigned', assignments: [{ technicianId: tech.body.id, primary: true }] });
      conforms(version, 'POST', '/work-orders', assigned);
      assert.deepEqual(assigned.body.assignments, [{ technicianId: tech.body.id, primary: true }]);

      const inv = await call('post', `/${version}/invoices`, { workOrderId: wo.body.id });
      assert.equal(inv.status, 201);
      assert.deepEqual(inv.body.total, { amount: 184500, currency: 'USD' });
      conforms(version, 'POST', '/invoices', inv);
      conforms(version, 'GET', '/invoices', await call('get', `/${version}/invoices`));
      conforms(version, 'GET', '/invoices/{id}', await call('get', `/${version}/invoices/${inv.body.id}`));
      const noWo = await call('post', `/${version}/invoices`, { workOrderId: '00000000-0000-4000-8000-000000000000' });
      assert.equal(noWo.status, 422);
      conforms(version, 'POST', '/invoices', noWo);

      const sub = await call('post', `/${version}/webhook-subscriptions`, { url: 'https://partner.example/hooks', events: ['work_order.completed'] });
      assert.equal(sub.status, 201);
      assert.match(sub.body.secret, /^whsec_/);
      conforms(version, 'POST', '/webhook-subscriptions', sub);
      const subs = await call('get', `/${version}/webhook-subscriptions`);
      conforms(version, 'GET', '/webhook-subscriptions', subs);
      assert.ok(!JSON.stringify(subs.body).includes(sub.body.secret), 'the secret is shown once');
      conforms(version, 'GET', '/webhook-subscriptions/{id}', await call('get', `/${version}/webhook-subscriptions/${sub.body.id}`));
      const del = await call('delete', `/${version}/webhook-subscriptions/${sub.body.id}`);
      assert.equal(del.status, 204);
      conforms(version, 'DELETE', '/webhook-subscriptions/{id}', del);
      assert.equal((await call('get', `/${version}/webhook-subscriptions/${sub.body.id}`)).status, 404);
      const http = await call('post', `/${version}/webhook-subscriptions`, { url: 'http://insecure.example', events: ['nope'] });
      assert.equal(http.status, 400);
      assert.deepEqual(http.body.errors.map((e: { pointer: string }) => e.pointer).sort(), ['/body/events/0', '/body/url']);
    });
  }
});

describe('v1 ↔ v2 mapping', () => {
  test('a status written in v2 reads in v1 in v1 words, and the other way round', async () => {
    const paused = await call('post', '/v2/work-orders', { summary: 'Waiting for parts', status: 'paused' });
    assert.equal(paused.status, 201);
    assert.equal(paused.body.status, 'paused');
    assert.equal((await call('get', `/v1/work-orders/${paused.body.id}`)).body.status, 'on_hold');
    const v1 = await call('post', '/v1/work-orders', { summary: 'On site', status: 'in_progress' });
    assert.equal((await call('get', `/v2/work-orders/${v1.body.id}`)).body.status, 'in-progress');
    const refused = await call('post', '/v2/work-orders', { summary: 'Old words', status: 'on_hold' });
    assert.equal(refused.status, 400, 'v1 words are not v2 words');
    assert.deepEqual(refused.body.errors.map((e: { pointer: string }) => e.pointer), ['/body/status']);
  });

  test('v2 filters by its own status words', async () => {
    const r = await call('get', '/v2/work-orders?status=paused&limit=100');
    assert.equal(r.status, 200);
    assert.ok(r.body.data.length >= 1);
    assert.ok(r.body.data.every((w: { status: string }) => w.status === 'paused'));
  });

  test('cursor pagination walks every work order once', async () => {
    const all = (await call('get', '/v1/work-orders?limit=100')).body.total as number;
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await call('get', `/v2/work-orders?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200);
      assert.deepEqual(Object.keys(r.body).sort(), ['data', 'nextCursor']);
      seen.push(...r.body.data.map((w: { id: string }) => w.id));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor && pages < 50);
    assert.equal(seen.length, all);
    assert.equal(new Set(seen).size, all);
    assert.equal(pages, Math.ceil(all / 2));
    const bad = await call('get', '/v2/work-orders?cursor=bm90LWEtY3Vyc29y');
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors, [{ pointer: '/query/cursor', message: 'is not a cursor this API gave out' }]);
    const offset = await call('get', '/v2/work-orders?offset=2');
    assert.equal(offset.status, 200, 'unknown query parameters are ignored, as in v1');
  });
});

describe('docs', () => {
  test('the docs page loads and offers both versions; the raw documents are served', async () => {
    const page = await request(gw.url).get('/docs/');
    assert.equal(page.status, 200);
    assert.match(page.text, /swagger-ui/);
    const init = await request(gw.url).get('/docs/swagger-ui-init.js');
    assert.match(init.text, /"url": "\/openapi\/v1\.json",\s*"name": "v1"/);
    assert.match(init.text, /"url": "\/openapi\/v2\.json",\s*"name": "v2"/);
    const v1 = await request(gw.url).get('/openapi/v1.json');
    assert.deepEqual(v1.body.servers, [{ url: '/v1' }], 'Try it out goes through the gateway');
    assert.ok(v1.body.components.securitySchemes.oauth2.flows.clientCredentials);
    const v2 = await request(gw.url).get('/openapi/v2.yaml');
    assert.match(v2.headers['content-type']!, /yaml/);
    assert.match(v2.text, /^openapi: 3\.1\.0/m);
    const jump = await request(gw.url).get('/docs/v2');
    assert.equal(jump.status, 302);
    assert.equal(jump.headers.location, '/docs/?urls.primaryName=v2');
    assert.equal((await request(gw.url).get('/openapi/v9.json')).status, 404);
  });
});

describe('development mode', () => {
  test('upstream responses that break the contract are logged and counted, and passed on unchanged', async () => {
    const liar = await listenOn((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(req.url?.startsWith('/api/customers') ? { items: [{ id: 'x' }], total: 'many', limit: 20, offset: 0 } : { items: [], total: 0, limit: 20, offset: 0 }));
    });
    const dir = tempDir('qgw-dev-');
    copyFileSync(join(ROOT, 'openapi/v1.yaml'), join(dir, 'v1.yaml'));
    writeFileSync(
      join(dir, 'gateway.yaml'),
      `server: { mode: development }\nupstreams: [{ name: core, target: ${liar.url} }]\napis:\n  - name: partner\n    versions:\n      - { name: v1, basePath: /v1, upstream: core, upstreamPath: /api, openapi: ${join(dir, 'v1.yaml')}, routes: [{ method: GET, path: /customers }, { method: GET, path: /work-orders }] }\n`,
    );
    const dev = await startTestGateway(readFileSync(join(dir, 'gateway.yaml'), 'utf8'));
    try {
      const bad = await request(dev.url).get('/v1/customers').set('X-Quant-Tenant', 't');
      assert.equal(bad.status, 200);
      assert.equal(bad.body.total, 'many', 'traffic is not altered');
      assert.equal((await request(dev.url).get('/v1/work-orders')).status, 200);
      const m = await request(dev.adminUrl).get('/metrics');
      assert.match(m.text, /qgw_contract_mismatches_total\{route="listCustomers"\} 1/);
      assert.doesNotMatch(m.text, /qgw_contract_mismatches_total\{route="listWorkOrders"\}/);
      const logged = dev.logs.map((l) => JSON.parse(l) as { msg?: string; errors?: { pointer: string }[] }).filter((l) => l.msg === 'upstream response does not match the contract');
      assert.equal(logged.length, 1);
      assert.ok(logged[0]!.errors!.some((e) => e.pointer === '/response/total'));
    } finally {
      await dev.close();
      await liar.close();
    }
  });
});
