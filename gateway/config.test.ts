import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { POLICIES } from '../policies/index.ts';
import { buildConfigSchema } from './config-schema.ts';
import { ConfigError, createConfigLoader } from './config.ts';
import { partnerConfig, tempDir, V1 } from '../test/helpers.ts';

const loader = createConfigLoader(POLICIES);
const dir = tempDir('qgw-config-');
let n = 0;
async function problemsOf(yaml: string, env: Record<string, string> = {}) {
  const file = join(dir, `c${n++}.yaml`);
  writeFileSync(file, yaml);
  try {
    await loader.load(file, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    for (const p of err.problems) assert.equal(p.file, file);
    return err.problems.map((p) => `${p.pointer}: ${p.message}`);
  }
  assert.fail('the config should have been refused');
}

test('the published schema is the one the loader uses', () => {
  const published = JSON.parse(readFileSync(new URL('../config/gateway.schema.json', import.meta.url), 'utf8'));
  assert.deepEqual(published, buildConfigSchema(POLICIES), 'run `npm run schema` after changing a policy schema');
});

test('the shipped config loads, with defaults applied and everything frozen', async () => {
  const cfg = await loader.load(new URL('../config/gateway.yaml', import.meta.url).pathname, { CORE_URL: 'http://127.0.0.1:1', QGW_ISSUER: 'http://127.0.0.1:8080' });
  assert.equal(cfg.upstreams[0]!.target, 'http://127.0.0.1:1');
  assert.equal(cfg.upstreams[0]!.keepAlive.maxSockets, 256);
  const validate = cfg.apis[0]!.policies.find((p) => p.policy === 'validate')!;
  assert.deepEqual(validate.config, { body: true });
  assert.ok(Object.isFrozen(cfg.apis[0]!.versions[0]!.routes));
  assert.ok(cfg.contracts.get('partner/v1')?.find('POST', '/work-orders'));
});

test('every error is listed at once, each with its JSON pointer', async () => {
  const problems = await problemsOf(`
upstreams:
  - name: core
    target: http://127.0.0.1:1/with/path
    timeoutMs: -5
    colour: blue
apis:
  - name: partner
    policies:
      - policy: rate-limit
        config: { capacity: 0, refillPerSecond: 1, key: [moon] }
      - policy: teleport
    versions:
      - name: v1
        basePath: /v1
        upstream: nowhere
        routes:
          - { method: FETCH, path: /x }
`);
  const expect = [
    '/upstreams/0/target',
    '/upstreams/0/timeoutMs',
    '/upstreams/0/colour',
    '/apis/0/policies/0/config/capacity',
    '/apis/0/policies/0/config/key/0',
    '/apis/0/policies/1/policy',
    '/apis/0/versions/0/routes/0/method',
  ];
  for (const ptr of expect) assert.ok(problems.some((p) => p.startsWith(`${ptr}:`)), `${ptr} in ${problems.join('\n')}`);
});

test('a version naming an unknown upstream is refused with its pointer (route clashes and validate without an operation are refused when the pipeline is built: see the reload tests)', async () => {
  const problems = await problemsOf(
    partnerConfig('http://127.0.0.1:1', {
      policies: '      - policy: validate',
      routes: `          - { method: GET, path: /work-orders }
          - { method: GET, path: /work-orders }
          - { method: GET, path: /not-in-contract }`,
    }).replace('upstream: core', 'upstream: elsewhere'),
  );
  assert.ok(problems.some((p) => p.startsWith('/apis/0/versions/0/upstream: no upstream named "elsewhere"')), problems.join('\n'));
});

test('secrets must come from the environment, and missing variables are named', async () => {
  const base = partnerConfig('${CORE_URL}', {
    upstream: `    headers:
      authorization: Bearer hunter2
      x-tenant-hint: { env: HINT }`,
  });
  const problems = await problemsOf(base);
  assert.ok(problems.some((p) => p.startsWith('/upstreams/0/headers/authorization: secret values')), problems.join('\n'));
  assert.ok(problems.some((p) => p.includes('CORE_URL is not set')));
  assert.ok(problems.some((p) => p.includes('HINT is not set')));
  assert.ok(!problems.join('\n').includes('hunter2'));
});

test('an OpenAPI document that does not load is refused with its pointer', async () => {
  const bad = join(dir, 'bad-openapi.yaml');
  writeFileSync(bad, 'openapi: 3.1.0\ninfo: { title: x }\npaths: {}\n');
  const problems = await problemsOf(partnerConfig('http://127.0.0.1:1').replace(V1, bad));
  assert.ok(problems.some((p) => p.startsWith('/apis/0/versions/0/openapi:')), problems.join('\n'));
});

test('malformed YAML and duplicate YAML keys are refused', async () => {
  assert.ok((await problemsOf('upstreams: [\n')).length > 0);
  assert.ok((await problemsOf('upstreams: []\nupstreams: []\napis: []\n')).length > 0);
});
