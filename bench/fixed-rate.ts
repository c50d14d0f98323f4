// An open-loop load generator at a fixed request rate (the wrk2 way): requests are due at even
// intervals, and each latency is measured from when it was due, not when it was sent, so a
// stalled server cannot hide its queueing (no coordinated omission).
import http from 'node:http';

export interface FixedRateResult {
  sent: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export async function fixedRate(
  target: string,
  o: { method?: string; headers?: Record<string, string>; body?: string; rate: number; seconds: number },
): Promise<FixedRateResult> {
  const url = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const body = o.body ? Buffer.from(o.body) : undefined;
  const headers = { ...o.headers, ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}) };
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  const total = o.rate * o.seconds;
  const interval = 1000 / o.rate;
  const start = performance.now();
  const pending = new Set<Promise<void>>();

  const one = (due: number) => {
    const p = new Promise<void>((resolve) => {
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: o.method ?? 'GET', headers, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - due);
          if (res.statusCode! < 200 || res.statusCode! >= 300) non2xx++;
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
    pending.add(p);
    void p.then(() => pending.delete(p));
  };

  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        one(start + sent * interval);
        sent++;
      }
      if (sent < total) setTimeout(tick, 1);
      else done();
    };
    tick();
  });
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { sent, p50: at(0.5), p99: at(0.99), non2xx, errors };
}
