// The gateway as an operator runs it: `gateway/main.ts` in its own process. A bad config file
// stops start-up with every problem listed; SIGHUP reloads the file, and a bad file on SIGHUP
// leaves the running config in place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { echoHandler, gatewayProcessEnv, listenOn, partnerConfig, ROOT, sleep, tempDir } from './helpers.ts';

const main = join(ROOT, 'gateway/main.ts');
const baseEnv = (dir: string, config: string, upstream: string) => ({ ...process.env, ...gatewayProcessEnv({ config, dataDir: dir, coreUrl: upstream }) });

test('a bad config file stops start-up, listing every problem with its pointer', () => {
  const dir = tempDir('qgw-proc-');
  const config = join(dir, 'gateway.yaml');
  writeFileSync(config, 'upstreams:\n  - { name: core, target: "not a url", timeoutMs: -1 }\napis:\n  - { name: partner, versions: [{ name: v1, basePath: /v1, upstream: nowhere, routes: [{ method: GET, path: /x }] }] }\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', main], { env: baseEnv(dir, config, 'http://127.0.0.1:1'), encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`config error: ${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}#/upstreams/0/target: `));
  assert.match(r.stderr, /#\/upstreams\/0\/timeoutMs: /);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
});

test('SIGHUP reloads the file; a bad file on SIGHUP keeps the running config', async () => {
  const echo = await listenOn(echoHandler());
  const dir = tempDir('qgw-proc-');
  const config = join(dir, 'gateway.yaml');
  writeFileSync(config, partnerConfig('${CORE_URL}', { openapi: false }));
  const child = fork(main, [], { execArgv: ['--import', 'tsx'], env: baseEnv(dir, config, echo.url), stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const { url } = await new Promise<{ url: string }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { url: string }));
      child.once('exit', (c) => reject(new Error(`exited ${c}`)));
    });
    const path = async () => ((await (await fetch(`${url}/v1/work-orders`)).json()) as { url: string }).url;
    assert.equal(await path(), '/api/work-orders');

    writeFileSync(config, partnerConfig('${CORE_URL}', { openapi: false }).replace('upstreamPath: /api', 'upstreamPath: /core'));
    child.kill('SIGHUP');
    let seen = '';
    for (let i = 0; i < 50 && seen !== '/core/work-orders'; i++) {
      await sleep(100);
      seen = await path();
    }
    assert.equal(seen, '/core/work-orders', 'the new file is in force');

    writeFileSync(config, 'upstreams: [oops');
    child.kill('SIGHUP');
    await sleep(500);
    assert.equal(await path(), '/core/work-orders', 'the running config stays');
    assert.equal(child.exitCode, null, 'and the process keeps serving');
  } finally {
    child.kill('SIGKILL');
    await echo.close();
  }
});
