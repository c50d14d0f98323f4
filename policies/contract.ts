// The one contract every policy follows (see STYLE.md): a name, a phase, a JSON Schema for its
// config, and `create(config, deps)`, run once when the pipeline is built, returning a named
// handler. Handlers know nothing of Express: they read and write a RequestContext, and stop a
// request by throwing a GatewayError or by setting `ctx.reply`.
import type { IncomingMessage } from 'node:http';
import type { CryptoKey } from 'jose';
import type { Store } from '../store/store.ts';
import type { CompiledOperation } from '../openapi/contract.ts';

/** Phases run in this order; within a phase, global → api → version → route. */
export const PHASES = ['pre', 'auth', 'authorize', 'limit', 'validate'] as const;
export type Phase = (typeof PHASES)[number];

export interface Identity {
  readonly tenant: string;
  readonly app: string;
  readonly subject: string;
  readonly scopes: readonly string[];
  /** Which credential authenticated the call (API key id, token jti, …). */
  readonly credentialId: string;
  /** API names the credential may call, or undefined for any. */
  readonly apis?: readonly string[];
}

export interface RouteInfo {
  readonly id: string;
  readonly api: string;
  readonly version: string;
  readonly method: string;
  /** The path template relative to the version's base path, e.g. `/work-orders/{id}`. */
  readonly template: string;
  readonly operation?: CompiledOperation;
  /** When the route's version is being retired. */
  readonly deprecation?: {
    readonly deprecatedAt: number;
    readonly sunsetAt?: number;
    readonly gone: boolean;
    /** Response headers, computed once: Deprecation, Sunset, Link. */
    readonly headers: Readonly<Record<string, string>>;
  };
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly method: string;
  readonly route: RouteInfo;
  readonly params: Readonly<Record<string, string>>;
  readonly rawQuery: string;
  readonly clientIp: string;
  readonly requestId: string;
  identity?: Identity;
  /**
   * Body bytes allowed, set by body-limit: readBody enforces it, and a body streamed upstream
   * without a declared length is cut off past it. Unset, a body read into memory is still capped
   * at 1 MiB and a streamed one is not.
   */
  bodyLimit?: number;
  /** Raw body once read; forwarded upstream byte for byte. */
  body?: Buffer;
  readBody(): Promise<Buffer>;
  /** Keeps a request header from the upstream (a credential). Deleting from `req.headers`
   *  instead would turn that object slow for the proxy's copy of it. */
  hideFromUpstream(header: string): void;
  /** Headers added to whatever response the client gets (proxied or problem). */
  readonly responseHeaders: Record<string, string>;
  /** Set by a policy that answers the request itself (a CORS preflight). */
  reply?: Reply;
}

export type Handler = (ctx: RequestContext) => void | Promise<void>;

export interface TokenBucketResult {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
  /** Milliseconds until one token is available (0 when allowed). */
  retryAfterMs: number;
}

export interface TokenBucketBackend {
  readonly kind: 'memory' | 'redis';
  /** The memory backend answers synchronously, so the hot path needs no promise for it. */
  take(key: string, capacity: number, refillPerSecond: number, cost: number): TokenBucketResult | Promise<TokenBucketResult>;
}

export interface MemoryBucketBackend extends TokenBucketBackend {
  readonly kind: 'memory';
  take(key: string, capacity: number, refillPerSecond: number, cost: number): TokenBucketResult;
}

export interface PolicyMetrics {
  limiterDecision(policy: string, decision: 'allowed' | 'limited' | 'fallback' | 'unavailable'): void;
}

export interface PolicyLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** The gateway's own authorization server, as the jwt policy needs it. */
export interface LocalIssuer {
  readonly issuer: string;
  readonly audience: string;
  verifier(kid: string): Promise<{ alg: string; key: CryptoKey } | undefined>;
  isRevoked(jti: string): boolean | Promise<boolean>;
}

export interface PolicyDeps {
  readonly store: Store;
  readonly now: () => number;
  readonly logger: PolicyLogger;
  readonly metrics: PolicyMetrics;
  /** Local token buckets; always present. */
  readonly memoryBuckets: MemoryBucketBackend;
  /** Shared token buckets, present when Redis is configured. */
  readonly sharedBuckets?: TokenBucketBackend;
  /** Present when the config has an `oauth` section. */
  readonly localIssuer?: LocalIssuer;
  /** The Redis client when configured, for rate-limiter-flexible. */
  readonly redis?: unknown;
  /** Told the id of every credential revoked or rotated in this process. */
  readonly credentialChanges: { subscribe(fn: (id: string) => void): void };
  /** Values that outlive a config reload (limiter state), created on first use. */
  keep<T>(key: string, make: () => T): T;
}

export interface PolicyDefinition<C = unknown> {
  readonly name: string;
  readonly phase: Phase;
  readonly description: string;
  readonly configSchema: Record<string, unknown>;
  /** Refuses, at build time, a route this policy cannot serve (returns a message). */
  checkRoute?(route: RouteInfo, config: C): string | undefined;
  create(config: C, deps: PolicyDeps): Handler;
}

export function definePolicy<C>(def: PolicyDefinition<C>): PolicyDefinition<C> {
  return Object.freeze(def);
}
