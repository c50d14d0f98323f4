// One proxy per upstream: http-proxy-middleware over a keep-alive agent. The gateway decides
// the upstream URL (normalized path + the query as received) before the proxy runs; a body the
// pipeline has read is written upstream byte for byte. Connect and response timeouts are ours,
// so a refused or reset upstream answers 502 GW_UPSTREAM_UNAVAILABLE and a slow one 504
// GW_UPSTREAM_TIMEOUT, both as problem+json; a client is never left hanging.
import http from 'node:http';
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Stream } from 'node:stream';
import { createProxyMiddleware } from 'http-proxy-middleware';
import type { ErrorCode } from '../policies/errors.ts';
import type { UpstreamConfig } from './config.ts';

/** What the gateway attaches to a request before handing it to the proxy. */
export interface ProxyState {
  upstreamUrl: string;
  /** Request headers the upstream must not see (credentials). */
  hidden?: string[];
  body?: Buffer;
  /** Set by body-limit: a body streamed without a declared length is cut off past it. */
  bodyLimit?: number;
  startedAt: number;
  upstreamStartedAt?: number;
  upstreamMs?: number;
  onFailure(code: ErrorCode, upstream: string): void;
  /** Set for version-transformed routes: rewrites a 2xx JSON response body. */
  transformResponse?: (body: Buffer, status: number) => Promise<Buffer>;
}

export type ProxiedRequest = IncomingMessage & { qgw?: ProxyState };

export interface Upstream {
  readonly name: string;
  proxy(req: ProxiedRequest, res: ServerResponse): void;
  close(): void;
}

class UpstreamTimeout extends Error {
  readonly code = 'QGW_UPSTREAM_TIMEOUT';
}

class BodyTooLarge extends Error {
  readonly code = 'QGW_BODY_TOO_LARGE';
}

const SOURCE = Symbol('qgw.source');
type SourcedRequest = ClientRequest & { [SOURCE]?: ProxiedRequest };

/**
 * What the proxy pipes into the upstream request once it has a socket (its `buffer` option,
 * used in place of the client request). The request hook, which runs first, has already
 * written a body the pipeline read, so only a body nobody read is piped: piping an ended
 * request would cost listeners on both streams and a second end().
 */
const bodySource = {
  pipe(proxyReq: SourcedRequest) {
    const req = proxyReq[SOURCE];
    if (req === undefined) {
      proxyReq.destroy(new Error('the request hook did not run'));
      return proxyReq;
    }
    const st = req.qgw;
    if (st?.body !== undefined) return proxyReq;
    req.pipe(proxyReq);
    // A declared length was checked against the limit before proxying (and the parser delivers no
    // more than it); a chunked body is counted as it passes and the upstream request aborted
    // past the limit, so the upstream never receives it whole.
    const limit = st?.bodyLimit;
    if (limit !== undefined && req.headers['content-length'] === undefined) {
      let seen = 0;
      const count = (c: Buffer) => {
        seen += c.length;
        if (seen <= limit) return;
        req.off('data', count);
        req.unpipe(proxyReq);
        proxyReq.destroy(new BodyTooLarge());
      };
      req.on('data', count);
    }
    return proxyReq;
  },
};

export function createUpstream(cfg: UpstreamConfig): Upstream {
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: cfg.keepAlive.maxSockets,
    maxFreeSockets: cfg.keepAlive.maxFreeSockets,
    timeout: cfg.keepAlive.idleMs,
  });
  const extraHeaders = Object.entries(cfg.headers);

  const onProxyReq = (proxyReq: ClientRequest, req: ProxiedRequest) => {
    (proxyReq as SourcedRequest)[SOURCE] = req;
    const st = req.qgw!;
    st.upstreamStartedAt = performance.now();
    if (st.hidden) for (const name of st.hidden) proxyReq.removeHeader(name);
    for (const [k, v] of extraHeaders) proxyReq.setHeader(k, v);
    if (st.transformResponse) proxyReq.setHeader('accept-encoding', 'identity');
    const socket = proxyReq.socket as Socket | null;
    if (socket?.connecting) {
      const t = setTimeout(() => proxyReq.destroy(new UpstreamTimeout('connect')), cfg.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(t));
      proxyReq.once('close', () => clearTimeout(t));
    }
    const rt = setTimeout(() => proxyReq.destroy(new UpstreamTimeout('response')), cfg.timeoutMs);
    proxyReq.once('response', () => clearTimeout(rt));
    proxyReq.once('close', () => clearTimeout(rt));
    if (st.body) {
      proxyReq.removeHeader('transfer-encoding');
      proxyReq.setHeader('content-length', st.body.length);
      // Ending here sends headers and body in one write; the proxy's later pipe of the
      // already-ended client request adds nothing.
      proxyReq.end(st.body);
    }
  };
  const onError = (err: Error, req: ProxiedRequest) => {
    const e = err as Error & { code?: string };
    const code: ErrorCode =
      e instanceof BodyTooLarge ? 'GW_BODY_TOO_LARGE' : e instanceof UpstreamTimeout || e.code === 'ETIMEDOUT' ? 'GW_UPSTREAM_TIMEOUT' : 'GW_UPSTREAM_UNAVAILABLE';
    req.qgw?.onFailure(code, cfg.name);
  };
  const base = {
    target: cfg.target,
    changeOrigin: true,
    xfwd: false,
    agent,
    buffer: bodySource as unknown as Stream,
    pathRewrite: (_path: string, req: ProxiedRequest) => req.qgw!.upstreamUrl,
  };

  const middleware = createProxyMiddleware<ProxiedRequest, ServerResponse>({
    ...base,
    on: {
      proxyReq: onProxyReq,
      proxyRes(_proxyRes, req) {
        const st = req.qgw!;
        if (st.upstreamStartedAt !== undefined) st.upstreamMs = performance.now() - st.upstreamStartedAt;
      },
      error: onError,
    },
  });

  // Routes whose responses a version transform rewrites: the body is collected and mapped.
  const HOP = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'content-encoding']);
  const transforming = createProxyMiddleware<ProxiedRequest, ServerResponse>({
    ...base,
    selfHandleResponse: true,
    on: {
      proxyReq: onProxyReq,
      proxyRes(proxyRes, req, res) {
        const st = req.qgw!;
        if (st.upstreamStartedAt !== undefined) st.upstreamMs = performance.now() - st.upstreamStartedAt;
        const status = proxyRes.statusCode ?? 502;
        const json = /^application\/(?:[\w.+-]+\+)?json/i.test(String(proxyRes.headers['content-type'] ?? ''));
        const copyHeaders = () => {
          res.statusCode = status;
          for (const [k, v] of Object.entries(proxyRes.headers)) if (v !== undefined && !HOP.has(k)) res.setHeader(k, v);
        };
        if (status < 200 || status >= 300 || !json || !st.transformResponse) {
          copyHeaders();
          if (proxyRes.headers['content-length']) res.setHeader('content-length', proxyRes.headers['content-length']);
          proxyRes.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        proxyRes.on('data', (c: Buffer) => chunks.push(c));
        proxyRes.on('end', () => {
          st.transformResponse!(Buffer.concat(chunks), status).then(
            (out) => {
              copyHeaders();
              res.setHeader('content-length', out.length);
              res.end(out);
            },
            () => st.onFailure('GW_UPSTREAM_CONTRACT', cfg.name),
          );
        });
      },
      error: onError,
    },
  });

  return {
    name: cfg.name,
    proxy(req, res) {
      const m = req.qgw?.transformResponse ? transforming : middleware;
      m(req, res, () => undefined).catch(() => req.qgw?.onFailure('GW_UPSTREAM_UNAVAILABLE', cfg.name));
    },
    close() {
      agent.destroy();
    },
  };
}
