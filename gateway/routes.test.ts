import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath, RouteTable } from './routes.ts';

const ok = (raw: string) => {
  const n = normalizePath(raw);
  assert.ok(n.ok, `${raw} should be accepted`);
  return '/' + n.segments.join('/');
};
const refused = (raw: string) => assert.equal(normalizePath(raw).ok, false, `${raw} should be refused`);

test('normalization resolves what a server would resolve', () => {
  assert.equal(ok('/v1//work-orders'), '/v1/work-orders');
  assert.equal(ok('/v1/./work-orders/'), '/v1/work-orders');
  assert.equal(ok('/v1/customers/../work-orders'), '/v1/work-orders');
  assert.equal(ok('/v1/customers/%2e%2e/work-orders'), '/v1/work-orders');
  assert.equal(ok('/v1/customers/%2E%2E/work-orders'), '/v1/work-orders');
  assert.equal(ok('/v1/work-orders;jsessionid=abc'), '/v1/work-orders');
  assert.equal(ok('/v1/%77ork-orders'), '/v1/work-orders');
  assert.equal(ok('/'), '/');
});

test('normalization refuses separators hidden in encodings and climbs above the root', () => {
  refused('/v1/work-orders%2f..%2f..%2fadmin');
  refused('/v1/work-orders%2F1');
  refused('/v1/work-orders%5c1');
  refused('/v1/%00');
  refused('/v1/%zz');
  refused('/../etc/passwd');
  refused('/v1/../../admin');
  refused('v1/work-orders');
});

test('the table prefers literals, binds parameters, and honours case settings', () => {
  const t = new RouteTable<string>();
  assert.equal(t.add('/v1', '/work-orders', 'GET', 'list', false), undefined);
  assert.equal(t.add('/v1', '/work-orders/{id}', 'GET', 'one', false), undefined);
  assert.equal(t.add('/v1', '/work-orders/export', 'GET', 'export', false), undefined);
  assert.equal(t.add('/V2', '/Items', 'GET', 'ci', true), undefined);
  assert.match(t.add('/v1', '/work-orders', 'GET', 'dup', false)!, /declared twice/);
  assert.match(t.add('/v1', '/work-orders/{other}', 'PUT', 'x', false)!, /clashes/);
  assert.equal(t.match(['v1', 'work-orders'])?.methods.get('GET'), 'list');
  assert.deepEqual(t.match(['v1', 'work-orders', 'abc'])?.params, { id: 'abc' });
  assert.equal(t.match(['v1', 'work-orders', 'export'])?.methods.get('GET'), 'export');
  assert.equal(t.match(['v1', 'Work-Orders']), undefined);
  assert.equal(t.match(['v2', 'ITEMS'])?.methods.get('GET'), 'ci');
  assert.equal(t.match(['v1']), undefined);
});
