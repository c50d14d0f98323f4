// Metrics (prom-client, one registry per gateway) and the logger (pino) with credentials
// redacted wherever they could appear.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import pino, { type Logger } from 'pino';
import type { PolicyMetrics } from '../policies/contract.ts';

export interface GatewayMetrics extends PolicyMetrics {
  readonly registry: Registry;
  request(route: string, method: string, status: number, seconds: number, upstreamSeconds?: number): void;
  upstreamError(upstream: string, kind: 'unavailable' | 'timeout' | 'contract'): void;
  deprecatedUse(api: string, version: string, app: string): void;
  contractMismatch(route: string): void;
}

/** prom-client builds a label object and a bound inc() on every `labels()` call; the hot path keeps the children. */
function childCache<T>(make: (...labels: string[]) => T): (...labels: string[]) => T {
  const cache = new Map<string, T>();
  return (...labels) => {
    const key = labels.join('\u0000');
    let c = cache.get(key);
    if (c === undefined) {
      if (cache.size > 10_000) cache.clear();
      cache.set(key, (c = make(...labels)));
    }
    return c;
  };
}

const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'qgw_' });
  const requests = new Counter({
    name: 'qgw_requests_total',
    help: 'Requests answered, by route, method and status.',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'qgw_request_duration_seconds',
    help: 'Time from request to response end, by route.',
    labelNames: ['route'],
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  const upstreamLatency = new Histogram({
    name: 'qgw_upstream_duration_seconds',
    help: 'Time from upstream request to upstream response headers, by route.',
    labelNames: ['route'],
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  const upstreamErrors = new Counter({
    name: 'qgw_upstream_errors_total',
    help: 'Upstream failures, by upstream and kind.',
    labelNames: ['upstream', 'kind'],
    registers: [registry],
  });
  const limiter = new Counter({
    name: 'qgw_limiter_decisions_total',
    help: 'Rate-limit and quota decisions, by policy name and decision.',
    labelNames: ['policy', 'decision'],
    registers: [registry],
  });
  const deprecated = new Counter({
    name: 'qgw_deprecated_version_requests_total',
    help: 'Calls to a deprecated API version, by API, version and app: whom to warn.',
    labelNames: ['api', 'version', 'app'],
    registers: [registry],
  });
  const mismatches = new Counter({
    name: 'qgw_contract_mismatches_total',
    help: 'Upstream responses that do not match the contract (development mode), by route.',
    labelNames: ['route'],
    registers: [registry],
  });
  const requestsOf = childCache((route, method, status) => requests.labels(route!, method!, status!));
  const latencyOf = childCache((route) => latency.labels(route!));
  const upstreamOf = childCache((route) => upstreamLatency.labels(route!));
  const limiterOf = childCache((policy, decision) => limiter.labels(policy!, decision!));
  return {
    registry,
    contractMismatch: (route) => mismatches.labels(route).inc(),
    deprecatedUse: (api, version, app) => deprecated.labels(api, version, app).inc(),
    request(route, method, status, seconds, upstreamSeconds) {
      requestsOf(route, method, String(status)).inc();
      latencyOf(route).observe(seconds);
      if (upstreamSeconds !== undefined) upstreamOf(route).observe(upstreamSeconds);
    },
    upstreamError: (upstream, kind) => upstreamErrors.labels(upstream, kind).inc(),
    limiterDecision: (policy, decision) => limiterOf(policy, decision).inc(),
  };
}

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.token',
  '*.key',
  '*.secret',
  '*.password',
  'adminToken',
];

export function createLogger(opts: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    opts.destination,
  );
}
