// The test command: type-checks the project (tsx runs TypeScript without checking it), then
// finds every *.test.ts and runs them with Node's test runner through tsx. Given file names, it
// runs just those, without the type check.
// Suites named *.redis.test.ts start their own redis-server; on a machine without one they are
// left out with a loud notice, except under CI=true, where a missing redis-server fails the run.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const skipDirs = new Set(['node_modules', '.git', 'data', 'dist', 'coverage']);
function find(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      if (!skipDirs.has(e.name)) find(join(dir, e.name), out);
    } else if (e.name.endsWith('.test.ts')) out.push(relative(root, join(dir, e.name)));
  }
  return out;
}

const only = process.argv.slice(2);
let files = (only.length ? only : find(root)).sort();
const hasRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
const needRedis = files.filter((f) => f.endsWith('.redis.test.ts'));
const banner = (lines) => console.error(['', '!'.repeat(78), ...lines.map((l) => `!! ${l}`), '!'.repeat(78), ''].join('\n'));
let leftOut = [];
if (!hasRedis && needRedis.length) {
  if (process.env.CI === 'true') {
    banner(['redis-server is not installed, and CI=true: the Redis suites cannot be left out.', ...needRedis]);
    process.exit(1);
  }
  leftOut = needRedis;
  files = files.filter((f) => !needRedis.includes(f));
  banner(['redis-server not found: these suites are LEFT OUT of this run:', ...leftOut, 'Install it (apt-get install -y redis-server) and run npm test again to run them.']);
}

if (!only.length) {
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) {
    banner(['The type check failed (see above): no tests were run.']);
    process.exit(1);
  }
}

const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
});
if (leftOut.length) banner([`${leftOut.length} Redis suite(s) were LEFT OUT (no redis-server); see above.`]);
process.exit(r.status ?? 1);
