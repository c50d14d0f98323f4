// Every policy and every error of the request path, through real sockets: a gateway started by
// startGateway in front of the reference core service or an echo upstream.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import request from 'supertest';
import { createCoreService } from '../core-service/core-service.ts';
import { listenOn, rawRequest, partnerConfig, startEchoGateway, startTestGateway, type EchoGateway, type TestGateway } from './helpers.ts';

const PROBLEM = /^application\/problem\+json/;

describe('api-key and tenant', () => {
  let core: Awaited<ReturnType<typeof listenOn>>;
  let gw: TestGateway;
  before(async () => {
    core = await listenOn(createCoreService().app);
    gw = await startTestGateway(
      partnerConfig(core.url, {
        policies: `      - policy: api-key
      - policy: tenant`,
        routes: `          - { method: GET, path: /work-orders }
          - method: POST
            path: /work-orders
            policies:
              - { policy: tenant, config: { requireScopes: [work-orders:write] } }
          - { method: GET, path: '/work-orders/{id}' }`,
      }),
    );
  });
  after(async () => {
    await gw.close();
    await core.close();
  });

  test('missing, malformed, unknown, expired and revoked keys get one identical 401', async () => {
    const valid = gw.issueKey();
    const revoked = gw.issueKey();
    const revokedId = revoked.split('_').slice(0, 2).join('_');
    gw.accounts.revokeKey(revokedId);
    const expired = gw.issueKey({ expiresAt: new Date(Date.now() - 1000).toISOString() });
    const unknown = valid.slice(0, -4) + 'AAAA';
    const bodies = new Set<string>();
    for (const headers of [{}, { 'x-api-key': 'nonsense' }, { 'x-api-key': unknown }, { 'x-api-key': expired }, { 'x-api-key': revoked }, { authorization: 'Bearer x' }]) {
      const res = await request(gw.url).get('/v1/work-orders').set(headers);
      assert.equal(res.status, 401);
      assert.match(res.headers['content-type']!, PROBLEM);
      assert.equal(res.body.code, 'GW_AUTH_REQUIRED');
      const { instance: _i, ...rest } = res.body as Record<string, unknown>;
      bodies.add(JSON.stringify(rest));
    }
    assert.equal(bodies.size, 1, 'no detail tells one case from another');
    const ok = await request(gw.url).get('/v1/work-orders').set('Authorization', `ApiKey ${valid}`);
    assert.equal(ok.status, 200);
  });

  test('rotation keeps the old key working for the overlap window only', async () => {
    const old = gw.issueKey();
    const oldId = old.split('_').slice(0, 2).join('_');
    const rotated = gw.accounts.rotateKey(oldId, 1);
    for (const k of [old, rotated.key]) assert.equal((await request(gw.url).get('/v1/work-orders').set('X-API-Key', k)).status, 200);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await request(gw.url).get('/v1/work-orders').set('X-API-Key', old)).status, 401);
    assert.equal((await request(gw.url).get('/v1/work-orders').set('X-API-Key', rotated.key)).status, 200);
  });

  test('a key limited to other APIs gets 403', async () => {
    const k = gw.issueKey({ apis: ['billing'] });
    const res = await request(gw.url).get('/v1/work-orders').set('X-API-Key', k);
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'GW_AUTH_FORBIDDEN');
  });

  test('a route scope is required (403), and held scopes pass', async () => {
    const body = { summary: 'Fix boiler' };
    const without = await request(gw.url).post('/v1/work-orders').set('X-API-Key', gw.issueKey()).send(body);
    assert.equal(without.status, 403);
    assert.match(without.body.detail, /work-orders:write/);
    const withScope = await request(gw.url).post('/v1/work-orders').set('X-API-Key', gw.issueKey({ scopes: ['work-orders:write'] })).send(body);
    assert.equal(withScope.status, 201);
  });

  test('tenant isolation: tenant B never sees tenant A data, whatever headers it sends', async () => {
    const a = gw.issueKey({ tenant: 'tenant-a', scopes: ['work-orders:write'] });
    const b = gw.issueKey({ tenant: 'tenant-b' });
    const created = await request(gw.url).post('/v1/work-orders').set('X-API-Key', a).send({ summary: 'A only' });
    assert.equal(created.status, 201);
    assert.equal(created.body.tenantId, 'tenant-a');
    const forged = await request(gw.url)
      .get(`/v1/work-orders/${created.body.id}`)
      .set('X-API-Key', b)
      .set('X-Quant-Tenant', 'tenant-a');
    assert.equal(forged.status, 404);
    const list = await request(gw.url).get('/v1/work-orders').set('X-API-Key', b).set('x-quant-tenant', 'tenant-a');
    assert.equal(list.body.items.length, 0);
  });
});

describe('identity and forwarding headers', () => {
  let gw: EchoGateway;
  before(async () => {
    gw = await startEchoGateway((echoUrl) => partnerConfig(echoUrl, { openapi: false, policies: '      - policy: api-key\n      - { policy: body-limit, config: { maxBytes: 4096 } }' }));
  });
  after(() => gw.close());

  test('a body no policy reads is streamed upstream as it arrives (chunked and with a length)', async () => {
    const key = gw.issueKey();
    const u = new URL(gw.url);
    const parts = ['{"summary":', '"streamed in', ' three parts"}'];
    const echoed = await new Promise<{ body: string; headers: Record<string, string> }>((resolve, reject) => {
      const r = http.request({ host: u.hostname, port: u.port, path: '/v1/work-orders', method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c));
        res.on('end', () => resolve(JSON.parse(text)));
      });
      r.on('error', reject);
      // Later parts are written after the upstream request has started.
      r.write(parts[0]);
      setTimeout(() => r.write(parts[1]), 30);
      setTimeout(() => r.end(parts[2]), 60);
    });
    assert.equal(Buffer.from(echoed.body, 'base64').toString(), parts.join(''));
    assert.equal(echoed.headers['x-api-key'], undefined);
    const raw = Buffer.from('{"summary":"with a length"}');
    const res = await rawRequest(gw.url, { method: 'POST', path: '/v1/work-orders', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: raw });
    assert.deepEqual(Buffer.from(JSON.parse(res.text).body, 'base64'), raw);
  });

  test('a streamed body no policy reads is still cut off at the body limit: 413, and the gateway keeps serving', async () => {
    const key = gw.issueKey();
    const u = new URL(gw.url);
    const res = await new Promise<{ status: number; text: string }>((resolve) => {
      const r = http.request({ host: u.hostname, port: u.port, path: '/v1/work-orders', method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      r.on('error', () => undefined); // the gateway may close while the client is still writing
      r.write('{"summary":"');
      let sent = 0;
      const t = setInterval(() => {
        if (r.destroyed || sent++ >= 8) {
          clearInterval(t);
          if (!r.destroyed) r.end('"}');
          return;
        }
        r.write('z'.repeat(1024));
      }, 5);
    });
    assert.equal(res.status, 413);
    assert.equal(JSON.parse(res.text).code, 'GW_BODY_TOO_LARGE');
    const after = await rawRequest(gw.url, { method: 'POST', path: '/v1/work-orders', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: '{"summary":"small"}' });
    assert.equal(after.status, 200);
  });

  test('client copies of X-Quant-* are removed and replaced by the credential identity', async () => {
    const key = gw.issueKey({ tenant: 'acme', scopes: ['a', 'b'] });
    const res = await request(gw.url)
      .get('/v1/work-orders?status=draft&x=%2F')
      .set('X-API-Key', key)
      .set('X-Quant-Tenant', 'evil')
      .set('X-Quant-Scopes', 'admin')
      .set('X-Quant-Subject', 'root')
      .set('X-Forwarded-For', '6.6.6.6')
      .set('X-Request-Id', 'client-req-42')
      .set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    assert.equal(res.status, 200);
    const h = res.body.headers as Record<string, string>;
    assert.equal(h['x-quant-tenant'], 'acme');
    assert.equal(h['x-quant-app'], 'acme-app');
    assert.equal(h['x-quant-subject'], 'app:acme-app');
    assert.equal(h['x-quant-scopes'], 'a b');
    assert.equal(h['x-forwarded-for'], '127.0.0.1', 'an untrusted client cannot forge its address');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.match(h['x-forwarded-host']!, /^127\.0\.0\.1:\d+$/);
    assert.equal(h['x-request-id'], 'client-req-42');
    assert.equal(res.headers['x-request-id'], 'client-req-42');
    assert.equal(h.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    assert.equal(h['x-api-key'], undefined, 'the credential is not passed upstream');
    assert.equal(res.body.url, '/api/work-orders?status=draft&x=%2F', 'query forwarded as received');
  });

  test('an unsafe request id is replaced and a traceparent is generated', async () => {
    const res = await request(gw.url).get('/v1/work-orders').set('X-API-Key', gw.issueKey()).set('X-Request-Id', 'bad id with spaces');
    assert.match(res.headers['x-request-id']!, /^[0-9a-f-]{36}$/);
    assert.match(res.body.headers.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  test('path tricks: what was matched is exactly what is forwarded', async () => {
    const key = gw.issueKey();
    const cases: [string, number, string?][] = [
      ['/v1//work-orders', 200, '/api/work-orders'],
      ['/v1/./work-orders/', 200, '/api/work-orders'],
      ['/v1/customers/%2e%2e/work-orders', 200, '/api/work-orders'],
      ['/v1/work-orders;jsessionid=1', 200, '/api/work-orders'],
      ['/v1/work-orders/a%20b', 200, '/api/work-orders/a%20b'],
      ['/v1/work-orders/..%2f..%2fadmin', 400],
      ['/v1/work-orders%2fadmin', 400],
      ['/v1/../../etc/passwd', 400],
      ['/v1/work-orders/%2e%2e/%2e%2e/internal', 404],
      ['/V1/work-orders', 404],
    ];
    for (const [path, status, forwarded] of cases) {
      const res = await rawRequest(gw.url, { path, headers: { 'x-api-key': key } });
      assert.equal(res.status, status, path);
      if (forwarded) assert.equal(JSON.parse(res.text).url, forwarded, path);
      else assert.ok(JSON.parse(res.text).code.startsWith('GW_'), path);
    }
  });

  test('unknown path → 404, other method → 405 with Allow, both problem+json', async () => {
    const nf = await request(gw.url).get('/v3/nothing');
    assert.equal(nf.status, 404);
    assert.match(nf.headers['content-type']!, PROBLEM);
    assert.equal(nf.body.code, 'GW_NOT_FOUND');
    const na = await request(gw.url).delete('/v1/work-orders');
    assert.equal(na.status, 405);
    assert.equal(na.headers.allow, 'GET, POST, HEAD');
    assert.equal(na.body.code, 'GW_METHOD_NOT_ALLOWED');
  });

  test('a request the HTTP parser refuses is answered in problem+json too', async () => {
    const { port } = new URL(gw.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(Number(port), '127.0.0.1', () => sock.write('GET /v1/work-orders HTTP/1.1\r\nHost: x\r\nBroken header line\r\n\r\n'));
      let text = '';
      sock.on('data', (c) => (text += c));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /Content-Type: application\/problem\+json/);
    assert.equal(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).code, 'GW_BAD_REQUEST');
    assert.equal((await request(gw.url).get('/v1/work-orders').set('X-API-Key', gw.issueKey())).status, 200, 'and keeps serving');
  });

  test('the admin API is not reachable from the public listener', async () => {
    for (const p of ['/admin/keys', '/admin/tenants', '/metrics']) {
      const res = await request(gw.url).get(p).set('Authorization', 'Bearer test-admin-token-0123456789');
      assert.equal(res.status, 404, p);
    }
  });
});

describe('validate', () => {
  let gw: EchoGateway;
  let key: string;
  before(async () => {
    gw = await startEchoGateway((echoUrl) =>
      partnerConfig(echoUrl, {
        policies: `      - policy: api-key
      - policy: body-limit
        config: { maxBytes: 2048 }
      - policy: validate`,
      }),
    );
    key = gw.issueKey();
  });
  after(() => gw.close());
  const post = (body: string | Buffer, type = 'application/json') =>
    request(gw.url).post('/v1/work-orders').set('X-API-Key', key).set('Content-Type', type).send(body);

  test('every body and parameter error is listed with a pointer', async () => {
    const res = await post(JSON.stringify({ priority: 'sometime', lineItems: [{ kind: 'part', quantity: -1, unitPrice: { amount: 1.5, currency: 'usd' } }], extra: 1 }));
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'GW_VALIDATION_FAILED');
    const pointers = (res.body.errors as { pointer: string }[]).map((e) => e.pointer).sort();
    for (const p of ['/body/summary', '/body/priority', '/body/extra', '/body/lineItems/0/description', '/body/lineItems/0/quantity', '/body/lineItems/0/unitPrice/amount', '/body/lineItems/0/unitPrice/currency']) {
      assert.ok(pointers.includes(p), `${p} in ${pointers.join(', ')}`);
    }
    assert.ok(!JSON.stringify(res.body).includes('must NOT'), 'messages are ours, not the validator library text');
    const q = await request(gw.url).get('/v1/work-orders?limit=1000&status=lost&offset=x').set('X-API-Key', key);
    assert.equal(q.status, 400);
    assert.deepEqual((q.body.errors as { pointer: string }[]).map((e) => e.pointer).sort(), ['/query/limit', '/query/offset', '/query/status']);
    const p = await request(gw.url).get('/v1/work-orders/not-a-uuid').set('X-API-Key', key);
    assert.deepEqual(p.body.errors, [{ pointer: '/path/id', message: 'must be a valid uuid' }]);
  });

  test('malformed JSON → 400, wrong type → 415, missing body → 400, too large → 413', async () => {
    const bad = await post('{"summary": "x",');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'GW_MALFORMED_JSON');
    const type = await post('summary=x', 'application/x-www-form-urlencoded');
    assert.equal(type.status, 415);
    assert.equal(type.body.code, 'GW_UNSUPPORTED_MEDIA_TYPE');
    const none = await request(gw.url).post('/v1/work-orders').set('X-API-Key', key);
    assert.equal(none.status, 400);
    assert.deepEqual(none.body.errors, [{ pointer: '/body', message: 'is required' }]);
    const big = await post(JSON.stringify({ summary: 'x', description: 'y'.repeat(5000) }));
    assert.equal(big.status, 413);
    assert.equal(big.body.code, 'GW_BODY_TOO_LARGE');
  });

  test('a body with a length that arrives in parts is validated whole and forwarded byte for byte', async () => {
    const raw = Buffer.from('{"summary":"sent slowly","priority":"high"}');
    const u = new URL(gw.url);
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const r = http.request({ host: u.hostname, port: u.port, path: '/v1/work-orders', method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json', 'content-length': String(raw.length) } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      r.on('error', reject);
      r.write(raw.subarray(0, 10));
      setTimeout(() => r.end(raw.subarray(10)), 40);
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Buffer.from(JSON.parse(res.text).body, 'base64'), raw);
  });

  test('a client that disconnects mid-body leaves no error behind and the gateway keeps serving', async () => {
    const u = new URL(gw.url);
    gw.logs.length = 0;
    await new Promise<void>((resolve) => {
      const sock = net.connect(Number(u.port), u.hostname, () => {
        sock.write(`POST /v1/work-orders HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"summary":"half`);
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 30);
      });
    });
    await new Promise((r) => setTimeout(r, 50));
    const lines = gw.logs.map((l) => JSON.parse(l) as { level: number; aborted?: boolean; route?: string });
    assert.deepEqual(lines.filter((l) => l.level >= 50), []);
    assert.equal(lines.filter((l) => l.aborted === true && l.route === 'createWorkOrder').length, 1, 'the access line says the call was aborted');
    assert.equal((await post('{"summary":"still here"}')).status, 200);
  });

  test('a chunked body over the limit is cut off with 413', async () => {
    const u = new URL(gw.url);
    const status = await new Promise<number>((resolve, reject) => {
      const r = http.request({ host: u.hostname, port: u.port, path: '/v1/work-orders', method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      r.on('error', reject);
      r.write('{"summary":"');
      r.write('z'.repeat(4096));
      r.end('"}');
    });
    assert.equal(status, 413);
  });

  test('duplicate keys and prototype keys are refused', async () => {
    const dup = await post('{"summary":"a","summary":"b"}');
    assert.equal(dup.status, 400);
    assert.equal(dup.body.code, 'GW_JSON_FORBIDDEN_KEY');
    assert.deepEqual(dup.body.errors, [{ pointer: '/body/summary', message: 'is a duplicate key' }]);
    const proto = await post('{"summary":"a","customer":{"__proto__":{"isAdmin":true}}}');
    assert.equal(proto.status, 400);
    assert.deepEqual(proto.body.errors, [{ pointer: '/body/customer/__proto__', message: 'is a forbidden key' }]);
    // The same key spelled with a JSON escape is the same key once parsed.
    const escaped = await post('{"summary":"a","customer":{"\\u005f_proto__":{"isAdmin":true}}}');
    assert.equal(escaped.status, 400);
    assert.deepEqual(escaped.body.errors, [{ pointer: '/body/customer/__proto__', message: 'is a forbidden key' }]);
  });

  test('a valid body is forwarded byte for byte', async () => {
    const raw = Buffer.from('{ "summary" : "Caf\u00e9 \\u00e9t\u00e9",\n  "priority":"high" }  ');
    const res = await rawRequest(gw.url, { method: 'POST', path: '/v1/work-orders', headers: { 'x-api-key': key, 'content-type': 'application/json; charset=utf-8' }, body: raw });
    assert.equal(res.status, 200, res.text);
    const echoed = JSON.parse(res.text);
    assert.deepEqual(Buffer.from(echoed.body, 'base64'), raw);
    assert.equal(echoed.headers['content-length'], String(raw.length));
  });

  test('a client that sends Expect: 100-continue gets the same treatment: body validated and forwarded, key removed', async () => {
    // curl sends this header for any body over 1 KB; the gateway answers 100 itself.
    const raw = Buffer.from(JSON.stringify({ summary: 'x'.repeat(200), description: 'y'.repeat(1500) }));
    const res = await rawRequest(gw.url, { method: 'POST', path: '/v1/work-orders', headers: { 'x-api-key': key, 'content-type': 'application/json', expect: '100-continue' }, body: raw });
    assert.equal(res.status, 200, res.text);
    const echoed = JSON.parse(res.text);
    assert.deepEqual(Buffer.from(echoed.body, 'base64'), raw);
    assert.equal(echoed.headers['x-api-key'], undefined);
    assert.equal(echoed.headers.expect, undefined);
    assert.equal(echoed.headers['x-quant-tenant'], 'acme');
    const bad = await rawRequest(gw.url, { method: 'POST', path: '/v1/work-orders', headers: { 'x-api-key': key, 'content-type': 'application/json', expect: '100-continue' }, body: '{"priority":"now"}' });
    assert.equal(bad.status, 400);
  });
});

describe('rate-limit, quota, cors, ip-filter', () => {
  let gw: EchoGateway;
  before(async () => {
    gw = await startEchoGateway((echoUrl) =>
      partnerConfig(echoUrl, {
        openapi: false,
        server: `  trustedProxies: [10.0.0.0/8]`,
        policies: `      - policy: api-key
      - policy: rate-limit
        config: { capacity: 3, refillPerSecond: 0.5, key: [credential] }`,
        routes: `          - { method: GET, path: /work-orders }
          - method: GET
            path: /customers
            policies:
              - { policy: api-key, enabled: false }
              - { policy: rate-limit, config: { name: by-ip, capacity: 2, refillPerSecond: 0.1, key: [ip, route] } }
          - method: GET
            path: /quota
            policies:
              - { policy: rate-limit, enabled: false }
              - { policy: quota, config: { by: app, limits: [{ period: day, limit: 2 }, { period: month, limit: 100 }] } }
          - method: GET
            path: /cors
            policies:
              - { policy: api-key, enabled: false }
              - { policy: cors, config: { allowOrigins: ['https://app.example.com'] } }
          - method: GET
            path: /private
            policies:
              - { policy: api-key, enabled: false }
              - { policy: ip-filter, config: { allow: [10.0.0.0/8], deny: [10.6.6.0/24] } }`,
      }),
    );
  });
  after(() => gw.close());

  test('token bucket: burst allowed, then 429 with Retry-After and RateLimit headers', async () => {
    const key = gw.issueKey();
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 5; i++) {
      last = await request(gw.url).get('/v1/work-orders').set('X-API-Key', key);
      statuses.push(last.status);
      if (i === 0) {
        assert.equal(last.headers['ratelimit-limit'], '3');
        assert.equal(last.headers['ratelimit-remaining'], '2');
        assert.equal(last.headers['ratelimit-policy'], '3;w=6');
      }
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    assert.equal(last!.body.code, 'GW_RATE_LIMITED');
    assert.equal(last!.headers['retry-after'], '2');
    assert.equal(last!.headers['ratelimit-remaining'], '0');
    assert.match(last!.headers['content-type']!, PROBLEM);
    const other = await request(gw.url).get('/v1/work-orders').set('X-API-Key', gw.issueKey({ app: 'other-app' }));
    assert.equal(other.status, 200, 'another credential has its own bucket');
    // Decisions are counted; a second scrape reports the same totals, not twice as many.
    const decisions = async () => {
      const text = (await request(gw.adminUrl).get('/metrics')).text;
      const count = (d: string) => Number(new RegExp(`qgw_limiter_decisions_total\\{policy="default",decision="${d}"\\} (\\d+)`).exec(text)?.[1]);
      return { allowed: count('allowed'), limited: count('limited') };
    };
    const first = await decisions();
    assert.ok(first.limited >= 2 && first.allowed >= 4, JSON.stringify(first));
    assert.deepEqual(await decisions(), first);
  });

  test('a forged X-Forwarded-For never earns a fresh bucket', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) {
      codes.push((await request(gw.url).get('/v1/customers').set('X-Forwarded-For', `203.0.113.${i}`)).status);
    }
    assert.deepEqual(codes, [200, 200, 429, 429]);
  });

  test('quota: the tightest remaining is visible; exhausted → 429 until the window ends', async () => {
    const key = gw.issueKey({ app: 'quota-app' });
    const one = await request(gw.url).get('/v1/quota').set('X-API-Key', key);
    assert.equal(one.status, 200);
    assert.equal(one.headers['x-quota-limit'], '2');
    assert.equal(one.headers['x-quota-remaining'], '1');
    assert.equal((await request(gw.url).get('/v1/quota').set('X-API-Key', key)).status, 200);
    const out = await request(gw.url).get('/v1/quota').set('X-API-Key', key);
    assert.equal(out.status, 429);
    assert.equal(out.body.code, 'GW_QUOTA_EXCEEDED');
    assert.ok(Number(out.headers['retry-after']) > 0 && Number(out.headers['retry-after']) <= 86400);
  });

  test('cors: preflight answered for allowed origins, refused for others; simple requests get headers', async () => {
    const pre = await request(gw.url).options('/v1/cors').set('Origin', 'https://app.example.com').set('Access-Control-Request-Method', 'GET').set('Access-Control-Request-Headers', 'x-api-key');
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.match(pre.headers['access-control-allow-methods']!, /GET/);
    const denied = await request(gw.url).options('/v1/cors').set('Origin', 'https://evil.example').set('Access-Control-Request-Method', 'GET');
    assert.equal(denied.status, 403);
    assert.equal(denied.body.code, 'GW_CORS_DENIED');
    const simple = await request(gw.url).get('/v1/cors').set('Origin', 'https://app.example.com');
    assert.equal(simple.status, 200);
    assert.match(simple.headers['access-control-expose-headers']!, /X-Request-Id/);
    const noCors = await request(gw.url).options('/v1/work-orders').set('Origin', 'https://app.example.com').set('Access-Control-Request-Method', 'GET');
    assert.equal(noCors.status, 405, 'a route without cors answers no preflight');
  });

  test('ip-filter: an untrusted peer is judged by its socket address, whatever X-Forwarded-For says', async () => {
    const forged = await request(gw.url).get('/v1/private').set('X-Forwarded-For', '10.1.2.3');
    assert.equal(forged.status, 403);
    const direct = await request(gw.url).get('/v1/private');
    assert.equal(direct.status, 403);
    assert.equal(direct.body.code, 'GW_IP_DENIED');
  });
});

describe('behind a trusted proxy', () => {
  test('the client address is the first untrusted hop: ip-filter and rate-limit use it, and it is forwarded', async () => {
    const gw = await startEchoGateway((echoUrl) =>
      partnerConfig(echoUrl, {
        openapi: false,
        server: '  trustedProxies: [127.0.0.1/32]',
        policies: `      - policy: ip-filter
        config: { allow: [10.0.0.0/8], deny: [10.6.6.0/24] }
      - policy: rate-limit
        config: { capacity: 1, refillPerSecond: 0.01, key: [ip] }`,
      }),
    );
    try {
      const via = (ip?: string) => {
        const r = request(gw.url).get('/v1/work-orders');
        return ip ? r.set('X-Forwarded-For', ip) : r;
      };
      const a = await via('10.1.2.3');
      assert.equal(a.status, 200);
      assert.equal(a.body.headers['x-forwarded-for'], '10.1.2.3, 127.0.0.1', 'the trusted hop is appended');
      assert.equal((await via('10.1.2.3')).status, 429, 'one bucket per client behind the proxy');
      assert.equal((await via('10.1.2.4')).status, 200, 'another client has its own bucket');
      assert.equal((await via('10.6.6.7')).status, 403, 'denied range');
      assert.equal((await via()).status, 403, 'the proxy itself is not in the allow list');
    } finally {
      await gw.close();
    }
  });
});

describe('upstream failures', () => {
  test('refused → 502, slow → 504, reset → 502, the gateway keeps serving', async () => {
    const slow = await listenOn((_req, res) => void setTimeout(() => res.end('late'), 3000));
    const reset = await listenOn((req) => req.socket.destroy());
    const dead = await listenOn(() => undefined);
    const deadUrl = dead.url;
    await dead.close();
    const cfg = `
upstreams:
  - { name: slow, target: ${slow.url}, timeoutMs: 300 }
  - { name: reset, target: ${reset.url} }
  - { name: dead, target: ${deadUrl}, connectTimeoutMs: 500 }
apis:
  - name: t
    versions:
      - { name: a, basePath: /slow, upstream: slow, routes: [{ method: GET, path: /x }] }
      - { name: b, basePath: /reset, upstream: reset, routes: [{ method: GET, path: /x }] }
      - { name: c, basePath: /dead, upstream: dead, routes: [{ method: GET, path: /x }] }
`;
    const gw = await startTestGateway(cfg);
    try {
      const t0 = Date.now();
      const s = await request(gw.url).get('/slow/x');
      assert.equal(s.status, 504);
      assert.equal(s.body.code, 'GW_UPSTREAM_TIMEOUT');
      assert.ok(Date.now() - t0 < 2500, 'the timeout answers before the upstream does');
      const r = await request(gw.url).get('/reset/x');
      assert.equal(r.status, 502);
      assert.equal(r.body.code, 'GW_UPSTREAM_UNAVAILABLE');
      const d = await request(gw.url).get('/dead/x');
      assert.equal(d.status, 502);
      assert.match(d.headers['content-type']!, PROBLEM);
      assert.ok(!JSON.stringify(d.body).includes('ECONNREFUSED'), 'no library text');
      const metrics = await request(gw.adminUrl).get('/metrics');
      assert.match(metrics.text, /qgw_upstream_errors_total\{upstream="slow",kind="timeout"\} 1/);
      assert.match(metrics.text, /qgw_upstream_errors_total\{upstream="dead",kind="unavailable"\} 1/);
    } finally {
      await gw.close();
      await slow.close();
      await reset.close();
    }
  });
});

describe('rate-limit when its Redis is unreachable', () => {
  test('onStoreError decides: closed → 503 GW_LIMITER_UNAVAILABLE, open → local bucket', async () => {
    const deadRedis = await listenOn(() => undefined);
    const redisUrl = deadRedis.url.replace('http', 'redis');
    await deadRedis.close();
    const gw = await startEchoGateway((echoUrl) =>
      partnerConfig(echoUrl, {
        openapi: false,
        policies: `      - policy: rate-limit
        config: { capacity: 2, refillPerSecond: 0.1, key: [ip], onStoreError: closed }`,
        routes: `          - { method: GET, path: /closed }
          - method: GET
            path: /open
            policies:
              - { policy: rate-limit, config: { name: open, capacity: 2, refillPerSecond: 0.1, key: [ip], onStoreError: open } }`,
      }),
      { redisUrl },
    );
    try {
      const closed = await request(gw.url).get('/v1/closed');
      assert.equal(closed.status, 503);
      assert.equal(closed.body.code, 'GW_LIMITER_UNAVAILABLE');
      const open = [];
      for (let i = 0; i < 3; i++) open.push((await request(gw.url).get('/v1/open')).status);
      assert.deepEqual(open, [200, 200, 429], 'the local bucket still limits');
      assert.equal((await request(gw.adminUrl).get('/readyz')).status, 503);
    } finally {
      await gw.close();
    }
  });
});
