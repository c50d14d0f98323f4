// The partner API documents: lint (Spectral spectral:oas, Redocly recommended), the
// breaking-change check against the released copies, and the check's own behaviour on fixture
// changes that must fail and must pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { findBreakingChanges } from './breaking.ts';

const run = promisify(execFile);
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const root = here('../');
const bin = (name: string) => here(`../node_modules/.bin/${name}`);
const load = (p: string) => parse(readFileSync(here(p), 'utf8')) as Record<string, any>;
const docs = ['openapi/v1.yaml', 'openapi/v2.yaml'];

test("both documents pass Spectral's spectral:oas with no errors", async () => {
  const r = await run(bin('spectral'), ['lint', ...docs, '--fail-severity', 'error', '--ruleset', '.spectral.yaml'], { cwd: root });
  assert.doesNotMatch(r.stdout, /^\s*\d+:\d+\s+error\b/m);
});

test("both documents pass Redocly's recommended rules with no errors", async () => {
  const r = await run(bin('redocly'), ['lint', '--extends', 'recommended', ...docs], { cwd: root, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } });
  assert.match(r.stdout + r.stderr, /valid/);
  assert.doesNotMatch(r.stdout + r.stderr, /\d+ errors?\b/);
});

test('the current documents do not break their released copies', async () => {
  const r = await run(process.execPath, ['--import', 'tsx', here('../scripts/openapi-check.ts')], { cwd: root });
  assert.match(r.stdout, /v1\.yaml: no breaking changes/);
  assert.match(r.stdout, /v2\.yaml: no breaking changes/);
});

test('changes that must fail the check, each named in the report', () => {
  const released = load('./released/v1.yaml');
  const cur = structuredClone(released);
  delete cur.paths['/customers/{id}'];
  delete cur.components.schemas.WorkOrder.properties.number;
  cur.components.schemas.WorkOrder.properties.version = { type: 'string' };
  cur.components.schemas.WorkOrderCreate.required.push('priority');
  cur.components.schemas.WorkOrderStatus.enum = cur.components.schemas.WorkOrderStatus.enum.filter((s: string) => s !== 'on_hold');
  cur.paths['/work-orders'].get.parameters.push({ name: 'region', in: 'query', required: true, schema: { type: 'string' } });
  const r = findBreakingChanges(released, cur);
  assert.equal(r.majorChanged, false);
  const text = r.changes.map((c) => `${c.where}: ${c.change}`);
  for (const expected of [
    'GET /customers/{id}: operation removed',
    'GET /work-orders/{id} 200/number: response field removed',
    'GET /work-orders/{id} 200/version: response type changed from integer to string',
    'POST /work-orders body/priority: new required request field',
    'POST /work-orders body/status: request enum narrowed: on_hold no longer accepted',
    'GET /work-orders query:region: new required parameter',
  ]) {
    assert.ok(text.includes(expected), `${expected}\nin:\n${text.join('\n')}`);
  }
});

test('changes that must pass: additions, optional fields, a widened request enum; and a breaking change with a new major', () => {
  const released = load('./released/v1.yaml');
  const cur = structuredClone(released);
  cur.components.schemas.WorkOrderCreate.properties.poNumber = { type: 'string' };
  cur.components.schemas.WorkOrder.properties.poNumber = { type: 'string' };
  cur.components.schemas.WorkOrderCreate.properties.priority.enum.push('planned');
  cur.paths['/equipment'] = { get: { operationId: 'listEquipment', responses: { '200': { description: 'ok' } } } };
  assert.deepEqual(findBreakingChanges(released, cur).changes, []);
  const major = structuredClone(released);
  major.info.version = '2.0.0';
  delete major.paths['/customers/{id}'];
  const r = findBreakingChanges(released, major);
  assert.equal(r.majorChanged, true);
  assert.equal(r.changes.length, 1);
});
