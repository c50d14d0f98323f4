// The request path of the public listener: request id, normalized route match, the route's
// policy handlers, then the proxy; every refusal is an RFC 9457 problem. A reload builds a new
// runtime aside and swaps one reference: a request keeps the runtime it started on, and a
// retired runtime closes its upstream agents once its last request has finished.
import { randomFillSync, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { Logger } from 'pino';
import { GatewayError, PROBLEM_CONTENT_TYPE, toProblem, type ErrorCode } from '../policies/errors.ts';
import type { Identity, PolicyDefinition, PolicyDeps, RequestContext } from '../policies/contract.ts';
import { DEFAULT_BODY_LIMIT } from '../policies/body-limit/body-limit.ts';
import type { GatewayConfig } from './config.ts';
import { ConfigError } from './config.ts';
import type { GatewayMetrics } from './observability.ts';
import { buildRuntime, type CompiledRoute, type Runtime } from './pipeline.ts';
import type { ProxiedRequest } from './proxy.ts';
import { encodeSegment, normalizePath } from './routes.ts';

const IDENTITY_HEADERS = ['x-quant-tenant', 'x-quant-app', 'x-quant-subject', 'x-quant-scopes'] as const;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export interface GatewayOptions {
  readonly registry: ReadonlyMap<string, PolicyDefinition<any>>;
  readonly deps: PolicyDeps;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** Loads (and validates) the config file again, for reloads. */
  readonly loadConfig: () => Promise<GatewayConfig>;
}

export interface Gateway {
  handle(req: IncomingMessage, res: ServerResponse): void;
  reload(): Promise<{ ok: true } | { ok: false; problems: ConfigError['problems'] }>;
  config(): GatewayConfig;
  close(): void;
}

export function sendProblem(
  res: ServerResponse,
  err: unknown,
  requestId: string,
  extraHeaders?: Record<string, string>,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { problem, headers } = toProblem(err, requestId);
  const body = JSON.stringify(problem);
  res.statusCode = problem.status;
  if (extraHeaders) for (const k in extraHeaders) res.setHeader(k, extraHeaders[k]!);
  for (const k in headers) res.setHeader(k, headers[k]!);
  res.setHeader('Content-Type', PROBLEM_CONTENT_TYPE);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

/**
 * The request body, at most `limit` bytes. A small body usually arrives in the packet that
 * carried the headers: the HTTP parser has pushed all of it into the stream's buffer by the
 * time one microtask has passed, and it is then taken with one read() instead of flowing
 * through data/end events. Anything else (chunked, a body still arriving) is streamed.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && req.readableFlowing === null) {
    const n = Number(declared);
    if (n > limit) return Promise.reject(new GatewayError('GW_BODY_TOO_LARGE', { headers: { Connection: 'close' } }));
    if (n === 0) return Promise.resolve(EMPTY);
    return Promise.resolve().then(() => (req.readableLength === n ? (req.read() as Buffer) : readLimited(req, limit)));
  }
  return readLimited(req, limit);
}

const EMPTY = Buffer.alloc(0);

function readLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    // The listeners stay until the request is gone: removing them cost more than they do.
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) {
        done = true;
        reject(new GatewayError('GW_BODY_TOO_LARGE', { headers: { Connection: 'close' } }));
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.once('error', () => {
      if (done) return;
      done = true;
      reject(new GatewayError('GW_MALFORMED_JSON', { detail: 'The request body could not be read.' }));
    });
  });
}

// Identities are kept by the credential caches, so their scope header is joined once.
const scopeHeaders = new WeakMap<Identity, string>();
function scopesHeader(id: Identity): string {
  let v = scopeHeaders.get(id);
  if (v === undefined) scopeHeaders.set(id, (v = id.scopes.join(' ')));
  return v;
}

// Trace ids come from a pooled random buffer: one fill serves 170 requests.
const pool = Buffer.alloc(4080);
let poolAt = pool.length;
function newTraceparent(): string {
  if (poolAt + 24 > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const id = pool.toString('hex', poolAt, poolAt + 16);
  const span = pool.toString('hex', poolAt + 16, poolAt + 24);
  poolAt += 24;
  return `00-${id}-${span}-01`;
}

export async function createGateway(opts: GatewayOptions): Promise<Gateway> {
  const { registry, deps, logger, metrics } = opts;
  // The access line is built below from fixed fields, none of which can hold a credential, so
  // it skips the redaction pass (about 3.5 µs and 7 KB of garbage a line); every other line
  // keeps it.
  const access = logger.child({}, { redact: [] });
  let current: Runtime = buildRuntime(await opts.loadConfig(), registry, deps);
  let trust = proxyaddr.compile([...current.config.server.trustedProxies]);

  const retire = (rt: Runtime) => {
    rt.retired = true;
    if (rt.inflight === 0) rt.close();
  };

  async function run(rt: Runtime, req: ProxiedRequest, res: ServerResponse, requestId: string, startedAt: number, done: (route?: CompiledRoute, ctx?: RequestContext) => void) {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    const rawQuery = q === -1 ? '' : url.slice(q + 1);
    const norm = normalizePath(rawPath);
    if (!norm.ok) throw new GatewayError('GW_PATH_INVALID', { detail: `The path was refused: ${norm.reason}.` });
    const match = rt.table.match(norm.segments);
    if (!match) throw new GatewayError('GW_NOT_FOUND');
    const acrm = req.headers['access-control-request-method'];
    const preflight = req.method === 'OPTIONS' && typeof acrm === 'string';
    const method = preflight ? acrm.toUpperCase() : req.method!;
    const route = match.methods.get(method) ?? (method === 'HEAD' ? match.methods.get('GET') : undefined);
    if (!route) {
      const allow = [...match.methods.keys()];
      if (allow.includes('GET')) allow.push('HEAD');
      throw new GatewayError('GW_METHOD_NOT_ALLOWED', { headers: { Allow: allow.join(', ') } });
    }
    const clientIp = (rt.config.server.trustedProxies.length > 0 ? proxyaddr(req, trust) : req.socket.remoteAddress) ?? '';
    const ctx: RequestContext = {
      req,
      method: req.method!,
      route,
      params: match.params,
      rawQuery,
      clientIp,
      requestId,
      responseHeaders: {},
      readBody() {
        if (ctx.body) return Promise.resolve(ctx.body);
        return readBody(req, ctx.bodyLimit ?? DEFAULT_BODY_LIMIT).then((b) => (ctx.body = b));
      },
      hideFromUpstream(header: string) {
        (hidden ??= []).push(header.toLowerCase());
      },
    };
    let hidden: string[] | undefined;
    done(route, ctx);
    const dep = route.deprecation;
    if (dep) {
      const now = deps.now();
      if (now >= dep.deprecatedAt) Object.assign(ctx.responseHeaders, dep.headers);
      if (dep.gone && dep.sunsetAt !== undefined && now >= dep.sunsetAt) {
        throw new GatewayError('GW_VERSION_GONE', { detail: 'Move to the successor version named in the Link header.' });
      }
    }
    const hs = route.handlers;
    const n = preflight ? route.preCount : hs.length;
    for (let i = 0; i < n; i++) {
      const r = hs[i]!(ctx);
      if (r) await r;
      if (ctx.reply) break;
    }
    const rh = ctx.responseHeaders;
    if (ctx.reply) {
      res.statusCode = ctx.reply.status;
      for (const k in rh) res.setHeader(k, rh[k]!);
      for (const [k, v] of Object.entries(ctx.reply.headers ?? {})) res.setHeader(k, v);
      res.end(ctx.reply.body);
      return;
    }
    if (preflight) {
      throw new GatewayError('GW_METHOD_NOT_ALLOWED', { headers: { Allow: [...match.methods.keys()].join(', ') } });
    }

    // Identity and forwarding headers: client copies never pass.
    const h = req.headers;
    for (const name of IDENTITY_HEADERS) if (h[name] !== undefined) delete h[name];
    // Node has already answered `100 Continue`; forwarded, the header would also make the proxy
    // skip its request hook (credentials removed, timeouts, the validated body).
    if (h.expect !== undefined) delete h.expect;
    const id = ctx.identity;
    if (id) {
      h['x-quant-tenant'] = id.tenant;
      h['x-quant-app'] = id.app;
      h['x-quant-subject'] = id.subject;
      h['x-quant-scopes'] = scopesHeader(id);
    }
    const peer = req.socket.remoteAddress ?? '';
    const peerTrusted = rt.config.server.trustedProxies.length > 0 && trust(peer, 0);
    const xff = h['x-forwarded-for'];
    h['x-forwarded-for'] = peerTrusted && typeof xff === 'string' ? `${xff}, ${peer}` : peer;
    if (!peerTrusted || typeof h['x-forwarded-proto'] !== 'string') h['x-forwarded-proto'] = 'http';
    if (!peerTrusted || typeof h['x-forwarded-host'] !== 'string') {
      if (typeof h.host === 'string') h['x-forwarded-host'] = h.host;
      else if (h['x-forwarded-host'] !== undefined) delete h['x-forwarded-host'];
    }
    h['x-request-id'] = requestId;
    if (typeof h.traceparent !== 'string' || !TRACEPARENT.test(h.traceparent)) h.traceparent = newTraceparent();

    // A version served through mappings: query and body go upstream in the upstream's shape.
    const tr = route.transform;
    let query = rawQuery;
    if (tr) {
      query = tr.upstreamQuery(rawQuery);
      if (tr.request && (ctx.body || (h['content-length'] !== undefined && h['content-length'] !== '0') || h['transfer-encoding'] !== undefined)) {
        ctx.body = await tr.request(await ctx.readBody());
      }
    }
    const rest = norm.segments.slice(match.baseSegments).map(encodeSegment).join('/');
    let upstreamUrl = rest ? `${route.upstreamPath}/${rest}` : route.upstreamPath || '/';
    if (query) upstreamUrl += `?${query}`;
    for (const k in rh) res.setHeader(k, rh[k]!);
    req.qgw = {
      upstreamUrl,
      hidden,
      body: ctx.body,
      bodyLimit: ctx.bodyLimit,
      startedAt,
      onFailure(code: ErrorCode, upstream: string) {
        if (code === 'GW_BODY_TOO_LARGE') {
          sendProblem(res, new GatewayError(code, { headers: { Connection: 'close' } }), requestId, rh);
          return;
        }
        metrics.upstreamError(upstream, code === 'GW_UPSTREAM_TIMEOUT' ? 'timeout' : code === 'GW_UPSTREAM_CONTRACT' ? 'contract' : 'unavailable');
        if (code === 'GW_UPSTREAM_CONTRACT') logger.warn({ requestId, route: route.id }, 'the version mapping refused the upstream response');
        sendProblem(res, new GatewayError(code), requestId, rh);
      },
      transformResponse: rt.config.server.mode === 'development' && route.operation ? checked(route, requestId, tr?.response) : tr?.response,
    };
    route.upstream.proxy(req, res);
  }

  /** Development mode: the (transformed) response is checked against the contract, never changed. */
  function checked(route: CompiledRoute, requestId: string, transform?: (b: Buffer, s: number) => Promise<Buffer>) {
    return async (body: Buffer, status: number): Promise<Buffer> => {
      const out = transform ? await transform(body, status) : body;
      let errors;
      try {
        errors = route.operation!.validateResponse(status, JSON.parse(out.toString('utf8')));
      } catch {
        errors = [{ pointer: '/response', message: 'is not valid JSON' }];
      }
      if (errors.length > 0) {
        metrics.contractMismatch(route.id);
        logger.warn({ requestId, route: route.id, status, errors: errors.slice(0, 10) }, 'upstream response does not match the contract');
      }
      return out;
    };
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const rt = current;
    rt.inflight++;
    const startedAt = performance.now();
    const given = req.headers[rt.config.server.requestIdHeader];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    let route: CompiledRoute | undefined;
    let ctx: RequestContext | undefined;
    res.once('close', () => {
      rt.inflight--;
      if (rt.retired && rt.inflight === 0) rt.close();
      const seconds = (performance.now() - startedAt) / 1000;
      const upstreamMs = (req as ProxiedRequest).qgw?.upstreamMs;
      const routeId = route?.id ?? 'unmatched';
      metrics.request(routeId, req.method ?? '', res.statusCode, seconds, upstreamMs === undefined ? undefined : upstreamMs / 1000);
      if (route?.deprecation && deps.now() >= route.deprecation.deprecatedAt) {
        metrics.deprecatedUse(route.api, route.version, ctx?.identity?.app ?? 'anonymous');
      }
      access.info({
        requestId,
        method: req.method,
        route: routeId,
        status: res.statusCode,
        tenant: ctx?.identity?.tenant,
        app: ctx?.identity?.app,
        latencyMs: Math.round(seconds * 1e4) / 10,
        upstreamMs: upstreamMs === undefined ? undefined : Math.round(upstreamMs * 10) / 10,
        aborted: !res.writableFinished || undefined,
      });
    });
    run(rt, req, res, requestId, startedAt, (r, c) => {
      route = r;
      ctx = c;
    }).catch((err: unknown) => {
      if (!(err instanceof GatewayError)) logger.error({ requestId, err }, 'unexpected error in the request path');
      sendProblem(res, err, requestId, ctx?.responseHeaders);
    });
  }

  return {
    handle,
    async reload() {
      let next: Runtime;
      try {
        next = buildRuntime(await opts.loadConfig(), registry, deps);
      } catch (err) {
        if (err instanceof ConfigError) {
          logger.warn({ problems: err.problems }, 'reload refused: the running config stays in place');
          return { ok: false, problems: err.problems };
        }
        throw err;
      }
      const old = current;
      current = next;
      trust = proxyaddr.compile([...next.config.server.trustedProxies]);
      retire(old);
      logger.info({ file: next.config.file }, 'config reloaded');
      return { ok: true };
    },
    config: () => current.config,
    close() {
      retire(current);
    },
  };
}
