// Gateway benchmark: one command (npm run bench) that starts a bare upstream and, in the same
// run, measures it directly, through the gateway with no policies, and through the gateway with
// api-key + rate-limit + validate (GET and POST), then the same chain with a JWT access token
// instead of the key. Each target gets a throughput run (fixed concurrency) and a latency run at a
// fixed 1,000 req/s; the report gives ratios against the baselines measured in this run, never
// absolute thresholds.
//
// BENCH_SECONDS (default 10) sets each run's length; BENCH_CONNECTIONS (default 32) the
// concurrency of throughput runs.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { fixedRate } from './fixed-rate.ts';
import { gatewayProcessEnv } from '../test/helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const RATE = 1000;
const ADMIN_TOKEN = 'bench-admin-token';
const children: ChildProcess[] = [];

function start(script: string, env: Record<string, string> = {}): Promise<Record<string, string>> {
  const child = fork(join(root, script), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as Record<string, string>));
    child.once('exit', (c) => reject(new Error(`${script} exited with ${c}`)));
  });
}

const stop = (c: ChildProcess) => new Promise<void>((r) => (c.once('exit', () => r()), c.kill('SIGTERM')));

const BODY = JSON.stringify({
  summary: 'Replace compressor',
  priority: 'high',
  customer: { name: 'Acme Dental', email: 'ops@acme.example' },
  lineItems: [
    { kind: 'part', sku: 'CMP-200', description: 'Compressor', quantity: 1, unitPrice: { amount: 45000, currency: 'USD' } },
    { kind: 'labor', description: 'Two hours', quantity: 2, unitPrice: { amount: 9500, currency: 'USD' } },
  ],
});

interface Result {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function measure(url: string, o: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; rate?: number; seconds?: number }): Promise<Result> {
  if (o.rate) {
    const f = await fixedRate(url, { ...o, rate: o.rate, seconds: o.seconds ?? SECONDS });
    return { rps: f.sent / (o.seconds ?? SECONDS), p50: f.p50, p99: f.p99, non2xx: f.non2xx, errors: f.errors };
  }
  const r = await autocannon({
    url,
    method: o.method ?? 'GET',
    headers: { ...(o.body ? { 'content-type': 'application/json' } : {}), ...o.headers },
    body: o.body,
    connections: CONNECTIONS,
    duration: o.seconds ?? SECONDS,
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

function gatewayConfig(policies: string): string {
  return `
oauth:
  issuer: http://127.0.0.1:1
  audience: quant-partner-api
upstreams:
  - name: core
    target: \${CORE_URL}
apis:
  - name: partner
    policies:
${policies}
    versions:
      - name: v1
        basePath: /v1
        upstream: core
        upstreamPath: /api
        openapi: ${join(root, 'openapi/v1.yaml')}
        routes:
          - { method: GET, path: /work-orders }
          - { method: POST, path: /work-orders }
`;
}

async function startGateway(name: string, policies: string, upstream: string) {
  const dir = mkdtempSync(join(tmpdir(), `qgw-bench-${name}-`));
  writeFileSync(join(dir, 'gateway.yaml'), gatewayConfig(policies));
  const m = await start(
    'gateway/main.ts',
    gatewayProcessEnv({ config: join(dir, 'gateway.yaml'), dataDir: dir, coreUrl: upstream, adminToken: ADMIN_TOKEN, logLevel: process.env.BENCH_LOG_LEVEL ?? 'info' }),
  );
  return { ...m, child: children[children.length - 1]! } as { url: string; adminUrl: string; child: ChildProcess };
}

async function issueKey(adminUrl: string): Promise<string> {
  const h = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const post = (p: string, b: unknown) => fetch(`${adminUrl}/admin${p}`, { method: 'POST', headers: h, body: JSON.stringify(b) }).then((r) => r.json() as Promise<Record<string, string>>);
  await post('/tenants', { id: 'bench', name: 'bench' });
  await post('/apps', { id: 'bench-app', tenantId: 'bench', name: 'bench' });
  return (await post('/keys', { appId: 'bench-app', scopes: ['work-orders:write'] })).key!;
}

async function issueToken(url: string, adminUrl: string): Promise<string> {
  const h = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const c = (await fetch(`${adminUrl}/admin/oauth/clients`, { method: 'POST', headers: h, body: JSON.stringify({ appId: 'bench-app', scopes: ['work-orders:write'] }) }).then((r) => r.json())) as Record<string, string>;
  const r = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${c.id}:${c.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return ((await r.json()) as { access_token: string }).access_token;
}

const fmt = (n: number, d = 0) => n.toFixed(d).padStart(8);

async function main() {
  const up = await start('bench/upstream.ts');
  const rows: [string, Result, Result][] = [];
  const run = async (label: string, url: string, o: Parameters<typeof measure>[1] = {}) => {
    await measure(url, { ...o, seconds: 2 }); // warm-up: JIT, keep-alive pools
    const tput = await measure(url, o);
    const lat = await measure(url, { ...o, rate: RATE });
    rows.push([label, tput, lat]);
    process.stderr.write(`${label}: ${tput.rps.toFixed(0)} req/s\n`);
  };

  await run('direct GET', `${up.url}/api/work-orders?limit=10`);
  await run('direct POST', `${up.url}/api/work-orders`, { method: 'POST', body: BODY });

  const bare = await startGateway('none', '      []', up.url!);
  await run('gateway, no policies, GET', `${bare.url}/v1/work-orders?limit=10`);
  await run('gateway, no policies, POST', `${bare.url}/v1/work-orders`, { method: 'POST', body: BODY });
  await stop(bare.child);

  const full = await startGateway(
    'full',
    `      - policy: api-key
        config: { optional: true }
      - policy: jwt
        config: { optional: true, issuers: [{ issuer: self }] }
      - policy: tenant
      - policy: rate-limit
        config: { capacity: 1000000, refillPerSecond: 1000000, key: [credential] }
      - policy: validate`,
    up.url!,
  );
  const key = await issueKey(full.adminUrl);
  const headers = { 'x-api-key': key };
  await run('gateway, api-key+rate-limit+validate, GET', `${full.url}/v1/work-orders?limit=10`, { headers });
  await run('gateway, api-key+rate-limit+validate, POST', `${full.url}/v1/work-orders`, { method: 'POST', body: BODY, headers });
  const bearer = { authorization: `Bearer ${await issueToken(full.url, full.adminUrl)}` };
  await run('gateway, jwt+rate-limit+validate, GET', `${full.url}/v1/work-orders?limit=10`, { headers: bearer });
  await run('gateway, jwt+rate-limit+validate, POST', `${full.url}/v1/work-orders`, { method: 'POST', body: BODY, headers: bearer });
  await stop(full.child);

  const by = (l: string) => rows.find((r) => r[0] === l)!;
  const lines = [
    `Quant Gateway benchmark — ${SECONDS}s runs, ${CONNECTIONS} connections for throughput, ${RATE} req/s fixed rate for latency`,
    '',
    `${'target'.padEnd(46)}${'req/s'.padStart(8)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}  |${'@1k p50'.padStart(8)}${'@1k p99'.padStart(8)}  non-2xx`,
    ...rows.map(([l, t, r]) => `${l.padEnd(46)}${fmt(t.rps)}${fmt(t.p50, 1)}${fmt(t.p99, 1)}  |${fmt(r.p50, 2)}${fmt(r.p99, 2)}  ${t.non2xx + r.non2xx + t.errors + r.errors}`),
    '',
  ];
  for (const m of ['GET', 'POST']) {
    const d = by(`direct ${m}`);
    const n = by(`gateway, no policies, ${m}`);
    const f = by(`gateway, api-key+rate-limit+validate, ${m}`);
    lines.push(
      `${m}: full chain / no policies throughput = ${(f[1].rps / n[1].rps).toFixed(3)} (target ≥ 0.85)`,
      `${m}: no policies / direct throughput     = ${(n[1].rps / d[1].rps).toFixed(3)}`,
      `${m}: added latency at ${RATE} req/s, full chain over direct: p50 +${(f[2].p50 - d[2].p50).toFixed(2)} ms (target ≤ 1), p99 +${(f[2].p99 - d[2].p99).toFixed(2)} ms (target ≤ 5)`,
    );
  }
  for (const m of ['GET', 'POST']) {
    const k = by(`gateway, api-key+rate-limit+validate, ${m}`);
    const j = by(`gateway, jwt+rate-limit+validate, ${m}`);
    lines.push(`${m}: jwt chain / api-key chain throughput = ${(j[1].rps / k[1].rps).toFixed(3)} (target ≥ 0.9)`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}

main().catch((err) => {
  for (const c of children) c.kill('SIGKILL');
  console.error(err);
  process.exit(1);
});
