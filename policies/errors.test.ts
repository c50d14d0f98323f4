import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { allErrorDefs, GatewayError, toProblem } from './errors.ts';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map(
  [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]),
);

test('every registered error code is documented with its status', () => {
  for (const d of allErrorDefs()) assert.equal(documented.get(d.code), d.status, `${d.code} in docs/errors.md`);
});

test('every documented code exists in the registry', () => {
  const codes = new Set(allErrorDefs().map((d) => d.code));
  for (const code of documented.keys()) assert.ok(codes.has(code), `${code} is documented but not registered`);
});

test('unknown errors become GW_INTERNAL without their message', () => {
  const { problem } = toProblem(new Error('secret connection string postgres://u:p@h'), 'req-1');
  assert.equal(problem.code, 'GW_INTERNAL');
  assert.equal(problem.status, 500);
  assert.equal(problem.instance, 'req-1');
  assert.ok(!JSON.stringify(problem).includes('postgres'));
});

test('a gateway error carries its status, errors and headers', () => {
  const { problem, headers } = toProblem(
    new GatewayError('GW_RATE_LIMITED', { headers: { 'Retry-After': '3' }, errors: [{ pointer: '/x', message: 'm' }] }),
  );
  assert.equal(problem.status, 429);
  assert.deepEqual(problem.errors, [{ pointer: '/x', message: 'm' }]);
  assert.equal(headers['Retry-After'], '3');
});
