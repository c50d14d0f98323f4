// Gateway benchmark: one command (npm run bench) that starts a bare upstream and, in the same
// run, measures it directly, through the gateway with no policies, and through the gateway with
// api-key + rate-limit + validate (GET and POST), then the same chain with a JWT access token
// instead of the key. The report gives ratios against the baselines measured in this run, never
// absolute thresholds.
//
// Throughput on a shared machine drifts by several per cent from one run to the next, so the
// gateways being compared run side by side and their throughput runs alternate, round after
// round (the order flips each round); a ratio is taken within each round and the report gives
// the median and the range over rounds. Latency is measured once per target at a fixed
// 1,000 req/s.
//
// BENCH_SECONDS (default 8) sets each run's length; BENCH_ROUNDS (default 3) the rounds;
// BENCH_CONNECTIONS (default 32) the concurrency of throughput runs.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { fixedRate } from './fixed-rate.ts';
import { gatewayProcessEnv } from '../test/helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
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

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Target {
  label: string;
  url: string;
  o: Parameters<typeof measure>[1];
}

interface Row {
  label: string;
  runs: Result[];
  lat: Result;
}

/** Warm-up, then ROUNDS alternating throughput runs (order flipped each round), then latency. */
async function compare(targets: Target[], rounds: number): Promise<Row[]> {
  for (const t of targets) await measure(t.url, { ...t.o, seconds: 2 }); // JIT, keep-alive pools
  const runs = targets.map(() => [] as Result[]);
  for (let r = 0; r < rounds; r++) {
    const order = targets.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      runs[i]!.push(await measure(targets[i]!.url, targets[i]!.o));
      process.stderr.write(`round ${r + 1}: ${targets[i]!.label}: ${runs[i]!.at(-1)!.rps.toFixed(0)} req/s\n`);
    }
  }
  const rows: Row[] = [];
  for (const [i, t] of targets.entries()) rows.push({ label: t.label, runs: runs[i]!, lat: await measure(t.url, { ...t.o, rate: RATE }) });
  return rows;
}

async function main() {
  const up = await start('bench/upstream.ts');
  const rows: Row[] = [];
  rows.push(...(await compare([{ label: 'direct GET', url: `${up.url}/api/work-orders?limit=10`, o: {} }], 1)));
  rows.push(...(await compare([{ label: 'direct POST', url: `${up.url}/api/work-orders`, o: { method: 'POST', body: BODY } }], 1)));

  const bare = await startGateway('none', '      []', up.url!);
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
  const key = { 'x-api-key': await issueKey(full.adminUrl) };
  const bearer = { authorization: `Bearer ${await issueToken(full.url, full.adminUrl)}` };
  for (const m of ['GET', 'POST'] as const) {
    const path = m === 'GET' ? '/v1/work-orders?limit=10' : '/v1/work-orders';
    const o = m === 'GET' ? {} : { method: m, body: BODY };
    rows.push(
      ...(await compare(
        [
          { label: `gateway, no policies, ${m}`, url: `${bare.url}${path}`, o },
          { label: `gateway, api-key+rate-limit+validate, ${m}`, url: `${full.url}${path}`, o: { ...o, headers: key } },
          { label: `gateway, jwt+rate-limit+validate, ${m}`, url: `${full.url}${path}`, o: { ...o, headers: bearer } },
        ],
        ROUNDS,
      )),
    );
  }
  await stop(bare.child);
  await stop(full.child);

  const by = (l: string) => rows.find((r) => r.label === l)!;
  /** The run of median throughput (the lower one of two for an even count): its req/s, p50, p99 are printed. */
  const middle = (r: Row) => [...r.runs].sort((a, b) => a.rps - b.rps)[(r.runs.length - 1) >> 1]!;
  const rps = (r: Row) => middle(r).rps;
  /** Median and range of the per-round ratios a/b. */
  const ratio = (a: Row, b: Row) => {
    const rs = a.runs.map((x, i) => x.rps / b.runs[i]!.rps);
    return `${median(rs).toFixed(3)} (rounds ${Math.min(...rs).toFixed(3)}–${Math.max(...rs).toFixed(3)})`;
  };
  const bad = (r: Row) => [...r.runs, r.lat].reduce((n, x) => n + x.non2xx + x.errors, 0);
  const lines = [
    `Quant Gateway benchmark — ${SECONDS}s runs, ${ROUNDS} alternating rounds per gateway comparison, ${CONNECTIONS} connections for throughput, ${RATE} req/s fixed rate for latency`,
    '',
    `${'target'.padEnd(46)}${'req/s'.padStart(8)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}  |${'@1k p50'.padStart(8)}${'@1k p99'.padStart(8)}  non-2xx`,
    ...rows.map((r) => {
      const mid = middle(r);
      return `${r.label.padEnd(46)}${fmt(mid.rps)}${fmt(mid.p50, 1)}${fmt(mid.p99, 1)}  |${fmt(r.lat.p50, 2)}${fmt(r.lat.p99, 2)}  ${bad(r)}`;
    }),
    '',
  ];
  for (const m of ['GET', 'POST']) {
    const d = by(`direct ${m}`);
    const n = by(`gateway, no policies, ${m}`);
    const f = by(`gateway, api-key+rate-limit+validate, ${m}`);
    lines.push(
      `${m}: full chain / no policies throughput = ${ratio(f, n)} (target ≥ 0.85)`,
      `${m}: no policies / direct throughput     = ${(rps(n) / rps(d)).toFixed(3)}`,
      `${m}: added latency at ${RATE} req/s, full chain over direct: p50 +${(f.lat.p50 - d.lat.p50).toFixed(2)} ms (target ≤ 1), p99 +${(f.lat.p99 - d.lat.p99).toFixed(2)} ms (target ≤ 5)`,
    );
  }
  for (const m of ['GET', 'POST']) {
    lines.push(`${m}: jwt chain / api-key chain throughput = ${ratio(by(`gateway, jwt+rate-limit+validate, ${m}`), by(`gateway, api-key+rate-limit+validate, ${m}`))} (target ≥ 0.9)`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}

main().catch((err) => {
  for (const c of children) c.kill('SIGKILL');
  console.error(err);
  process.exit(1);
});
