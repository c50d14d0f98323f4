// Versions: deprecation headers (RFC 9745 Deprecation, RFC 8594 Sunset, successor Link), 410
// after the sunset (or service as configured), and the count of deprecated use per app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { startEchoGateway } from './helpers.ts';

const DEPRECATED = '2026-06-01T00:00:00Z';
const SUNSET = '2027-01-01T00:00:00Z';

function config(target: string, afterSunset: 'gone' | 'serve') {
  return `
upstreams:
  - { name: core, target: ${target} }
apis:
  - name: partner
    policies:
      - policy: api-key
        config: { optional: true }
    versions:
      - name: v1
        basePath: /v1
        upstream: core
        deprecation: { deprecated: '${DEPRECATED}', sunset: '${SUNSET}', successor: /v2, afterSunset: ${afterSunset} }
        routes: [{ method: GET, path: /work-orders }]
      - name: v2
        basePath: /v2
        upstream: core
        routes: [{ method: GET, path: /work-orders }]
`;
}

test('before, during and after deprecation', async () => {
  let clock = Date.parse('2026-05-01T00:00:00Z');
  const gw = await startEchoGateway((echoUrl) => config(echoUrl, 'gone'), { now: () => clock });
  try {
    const before = await request(gw.url).get('/v1/work-orders');
    assert.equal(before.status, 200);
    assert.equal(before.headers.deprecation, undefined, 'not yet deprecated');

    clock = Date.parse('2026-07-01T00:00:00Z');
    const key = gw.issueKey({ app: 'legacy-app' });
    const during = await request(gw.url).get('/v1/work-orders').set('X-API-Key', key);
    assert.equal(during.status, 200);
    assert.equal(during.headers.deprecation, `@${Date.parse(DEPRECATED) / 1000}`);
    assert.equal(during.headers.sunset, 'Fri, 01 Jan 2027 00:00:00 GMT');
    assert.equal(during.headers.link, '</v2>; rel="successor-version"');
    const v2 = await request(gw.url).get('/v2/work-orders');
    assert.equal(v2.headers.deprecation, undefined, 'the successor is not deprecated');
    const metrics = await request(gw.adminUrl).get('/metrics');
    assert.match(metrics.text, /qgw_deprecated_version_requests_total\{api="partner",version="v1",app="legacy-app"\} 1/);

    clock = Date.parse('2027-01-01T00:00:01Z');
    const after = await request(gw.url).get('/v1/work-orders');
    assert.equal(after.status, 410);
    assert.equal(after.body.code, 'GW_VERSION_GONE');
    assert.match(after.headers['content-type']!, /problem\+json/);
    assert.equal(after.headers.link, '</v2>; rel="successor-version"');
    assert.equal((await request(gw.url).get('/v2/work-orders')).status, 200);
  } finally {
    await gw.close();
  }
});

test('afterSunset: serve keeps answering, still announcing the sunset', async () => {
  const gw = await startEchoGateway((echoUrl) => config(echoUrl, 'serve'), { now: () => Date.parse('2027-03-01T00:00:00Z') });
  try {
    const r = await request(gw.url).get('/v1/work-orders');
    assert.equal(r.status, 200);
    assert.equal(r.headers.sunset, 'Fri, 01 Jan 2027 00:00:00 GMT');
  } finally {
    await gw.close();
  }
});

test('a sunset before the deprecation date is a config error', async () => {
  await assert.rejects(
    startEchoGateway((echoUrl) => config(echoUrl, 'gone').replace(`sunset: '${SUNSET}'`, "sunset: '2026-01-01T00:00:00Z'")),
    (err: Error & { problems?: { pointer: string }[] }) => err.problems?.[0]?.pointer === '/apis/0/versions/0/deprecation/sunset',
  );
});
