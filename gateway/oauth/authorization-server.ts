// The OAuth 2.0 authorization server on the public listener:
//   POST /oauth/token        client_credentials (RFC 6749 §4.4) with client_secret_basic,
//                            client_secret_post or private_key_jwt (RFC 7523, jti replay refused)
//   POST /oauth/introspect   RFC 7662 (the caller authenticates as a client of the same tenant)
//   POST /oauth/revoke       RFC 7009 (a client revokes its own tokens)
//   GET  /.well-known/oauth-authorization-server   RFC 8414 metadata
//   GET  /.well-known/jwks.json                    published signing keys
// Access tokens are RFC 9068 JWTs (`typ: at+jwt`). Errors follow RFC 6749 §5.2 exactly
// (`{ error, error_description }`, invalid_client with 401 and WWW-Authenticate), the format
// every OAuth client library expects. Failed client authentications are limited per client_id
// and per client IP (429 with Retry-After).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { OAuthClient, Store } from '../../store/store.ts';
import type { OAuthConfig } from '../config.ts';
import { clientSecretMatches } from './client-secret.ts';
import type { Revocations } from './revocations.ts';
import type { SigningKeys } from './signing-keys.ts';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ASSERTION_ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA'];

class OAuthError extends Error {
  constructor(
    readonly error: 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope',
    readonly description: string,
    readonly status = error === 'invalid_client' ? 401 : 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(error);
  }
}

export interface AuthorizationServerOptions {
  settings: () => OAuthConfig | undefined;
  store: Store;
  keys: SigningKeys;
  revocations: Revocations;
  now: () => number;
  logger: Logger;
  redis?: Redis;
  clientIp: (req: IncomingMessage) => string;
}

const secretMatches = (secret: string, client: OAuthClient | undefined) => clientSecretMatches(secret, client?.secretHash);

function formDecode(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

export function createAuthorizationServer(o: AuthorizationServerOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  const remoteSets = new Map<string, JWTVerifyGetKey>();
  let limiters: { perClient: RateLimiterAbstract; perIp: RateLimiterAbstract; key: string } | undefined;

  const settings = (): OAuthConfig => {
    const s = o.settings();
    if (!s) throw new OAuthError('invalid_request', 'The authorization server is not configured.', 404);
    return s;
  };
  const tokenEndpoint = (s: OAuthConfig) => `${s.issuer}/oauth/token`;

  const brute = (s: OAuthConfig) => {
    const b = s.bruteForce;
    const key = `${b.perClient}:${b.perIp}:${b.windowSeconds}`;
    if (limiters?.key !== key) {
      const make = (points: number, prefix: string) =>
        o.redis
          ? new RateLimiterRedis({ storeClient: o.redis, points, duration: b.windowSeconds, keyPrefix: prefix, insuranceLimiter: new RateLimiterMemory({ points, duration: b.windowSeconds }) })
          : new RateLimiterMemory({ points, duration: b.windowSeconds, keyPrefix: prefix });
      limiters = { perClient: make(b.perClient, 'qgw:oauth-fail:client'), perIp: make(b.perIp, 'qgw:oauth-fail:ip'), key };
    }
    return limiters;
  };

  /** Refuses a caller that has failed too often, before any work. */
  async function checkBlocked(s: OAuthConfig, clientId: string | undefined, ip: string) {
    const l = brute(s);
    const checks: [RateLimiterAbstract, string, number][] = [[l.perIp, ip, s.bruteForce.perIp]];
    if (clientId) checks.push([l.perClient, clientId, s.bruteForce.perClient]);
    for (const [limiter, key, max] of checks) {
      const r = await limiter.get(key).catch(() => null);
      if (r && r.consumedPoints >= max) {
        throw Object.assign(new Error('blocked'), { retryAfter: Math.max(1, Math.ceil(r.msBeforeNext / 1000)) });
      }
    }
  }

  async function recordFailure(s: OAuthConfig, clientId: string | undefined, ip: string) {
    const l = brute(s);
    await l.perIp.penalty(ip, 1).catch(() => undefined);
    if (clientId) await l.perClient.penalty(clientId, 1).catch(() => undefined);
  }

  function presentedClientId(req: Request): string | undefined {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const raw = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      const i = raw.indexOf(':');
      try {
        return i > 0 ? formDecode(raw.slice(0, i)) : undefined;
      } catch {
        return undefined;
      }
    }
    const b = req.body as Record<string, unknown>;
    if (typeof b.client_id === 'string') return b.client_id;
    if (typeof b.client_assertion === 'string') {
      try {
        const iss = decodeJwt(b.client_assertion).iss;
        return typeof iss === 'string' ? iss : undefined;
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  async function authenticateClient(req: Request, s: OAuthConfig): Promise<OAuthClient> {
    const b = req.body as Record<string, unknown>;
    const auth = req.headers.authorization;
    const methods = [auth?.startsWith('Basic ') ? 'basic' : '', typeof b.client_secret === 'string' ? 'post' : '', typeof b.client_assertion === 'string' ? 'jwt' : ''].filter(Boolean);
    if (methods.length > 1) throw new OAuthError('invalid_request', 'Use exactly one client authentication method.');
    const fail = (d = 'Client authentication failed.') =>
      new OAuthError('invalid_client', d, 401, { 'WWW-Authenticate': 'Basic realm="quant-gateway", charset="UTF-8"' });
    let client: OAuthClient | undefined;
    switch (methods[0]) {
      case 'basic': {
        const raw = Buffer.from(auth!.slice(6), 'base64').toString('utf8');
        const i = raw.indexOf(':');
        if (i <= 0) throw fail();
        let id: string;
        let secret: string;
        try {
          id = formDecode(raw.slice(0, i));
          secret = formDecode(raw.slice(i + 1));
        } catch {
          throw fail();
        }
        if (typeof b.client_id === 'string' && b.client_id !== id) throw new OAuthError('invalid_request', 'client_id does not match the credentials.');
        client = o.store.getOAuthClient(id);
        if (!secretMatches(secret, client)) throw fail();
        break;
      }
      case 'post': {
        if (typeof b.client_id !== 'string') throw fail();
        client = o.store.getOAuthClient(b.client_id);
        if (!secretMatches(String(b.client_secret), client)) throw fail();
        break;
      }
      case 'jwt': {
        if (b.client_assertion_type !== ASSERTION_TYPE) throw new OAuthError('invalid_request', 'Unsupported client_assertion_type.');
        const assertion = String(b.client_assertion);
        let iss: unknown;
        try {
          iss = decodeJwt(assertion).iss;
        } catch {
          throw fail();
        }
        client = typeof iss === 'string' ? o.store.getOAuthClient(iss) : undefined;
        if (!client || (!client.jwks && !client.jwksUri)) throw fail();
        if (typeof b.client_id === 'string' && b.client_id !== client.id) throw fail();
        let keys: JWTVerifyGetKey;
        if (client.jwks) keys = createLocalJWKSet(client.jwks as never);
        else {
          keys = remoteSets.get(client.jwksUri!) ?? createRemoteJWKSet(new URL(client.jwksUri!), { timeoutDuration: 3000, cooldownDuration: 30_000 });
          remoteSets.set(client.jwksUri!, keys);
        }
        let payload: JWTPayload;
        try {
          ({ payload } = await jwtVerify(assertion, keys, {
            issuer: client.id,
            subject: client.id,
            audience: [tokenEndpoint(s), s.issuer, `${s.issuer}/oauth/introspect`, `${s.issuer}/oauth/revoke`],
            algorithms: ASSERTION_ALGS,
            requiredClaims: ['exp', 'jti'],
            maxTokenAge: '10m',
            clockTolerance: 30,
            currentDate: new Date(o.now()),
          }));
        } catch {
          throw fail();
        }
        if (!o.store.useOnce(`assertion:${client.id}:${payload.jti}`, new Date((payload.exp! + 60) * 1000).toISOString())) {
          throw fail('The client assertion was already used.');
        }
        break;
      }
      default:
        throw fail();
    }
    if (!client || client.revokedAt) throw fail();
    return client;
  }

  /** Runs a client-authenticated endpoint with brute-force accounting. */
  const withClient =
    (handler: (req: Request, res: Response, client: OAuthClient, s: OAuthConfig) => Promise<void>) =>
    async (req: Request, res: Response, next: NextFunction) => {
      try {
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('Pragma', 'no-cache');
        const s = settings();
        if (!req.is('application/x-www-form-urlencoded')) throw new OAuthError('invalid_request', 'Send the parameters as application/x-www-form-urlencoded.');
        const ip = o.clientIp(req);
        const presented = presentedClientId(req);
        await checkBlocked(s, presented, ip);
        let client: OAuthClient;
        try {
          client = await authenticateClient(req, s);
        } catch (err) {
          if (err instanceof OAuthError && err.error === 'invalid_client') await recordFailure(s, presented, ip);
          throw err;
        }
        await handler(req, res, client, s);
      } catch (err) {
        next(err);
      }
    };

  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });

  app.get('/.well-known/oauth-authorization-server', (_req, res, next) => {
    try {
      const s = settings();
      res.json({
        issuer: s.issuer,
        token_endpoint: tokenEndpoint(s),
        jwks_uri: `${s.issuer}/.well-known/jwks.json`,
        introspection_endpoint: `${s.issuer}/oauth/introspect`,
        revocation_endpoint: `${s.issuer}/oauth/revoke`,
        grant_types_supported: ['client_credentials'],
        response_types_supported: [],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
        token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
        introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
        revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
        access_token_signing_alg_values_supported: ['ES256', 'RS256'],
      });
    } catch (err) {
      next(err);
    }
  });

  app.get('/.well-known/jwks.json', async (_req, res, next) => {
    try {
      settings();
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.json(await o.keys.jwks());
    } catch (err) {
      next(err);
    }
  });

  app.post(
    '/oauth/token',
    form,
    withClient(async (req, res, client, s) => {
      const b = req.body as Record<string, unknown>;
      if (b.grant_type === undefined) throw new OAuthError('invalid_request', 'grant_type is required.');
      if (b.grant_type !== 'client_credentials') throw new OAuthError('unsupported_grant_type', 'Only client_credentials is supported.');
      let scopes = client.scopes;
      if (b.scope !== undefined) {
        if (typeof b.scope !== 'string') throw new OAuthError('invalid_request', 'scope must be one string.');
        const asked = [...new Set(b.scope.split(' ').filter(Boolean))];
        scopes = asked.filter((x) => client.scopes.includes(x));
        if (asked.length > 0 && scopes.length === 0) throw new OAuthError('invalid_scope', 'None of the requested scopes is allowed for this client.');
      }
      const lifetime = Math.min(client.tokenLifetimeSeconds, s.maxTokenLifetimeSeconds);
      const signer = await o.keys.signer();
      const iat = Math.floor(o.now() / 1000);
      const token = await new SignJWT({ client_id: client.id, scope: scopes.join(' '), tenant: client.tenantId, app: client.appId })
        .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'at+jwt' })
        .setIssuer(s.issuer)
        .setSubject(client.id)
        .setAudience(s.audience)
        .setIssuedAt(iat)
        .setExpirationTime(iat + lifetime)
        .setJti(randomUUID())
        .sign(signer.key);
      res.json({ access_token: token, token_type: 'Bearer', expires_in: lifetime, scope: scopes.join(' ') });
    }),
  );

  /** The `token` parameter of introspection and revocation, verified: its claims, or undefined. */
  async function presentedToken(req: Request, s: OAuthConfig): Promise<JWTPayload | undefined> {
    const token = (req.body as Record<string, unknown>).token;
    if (typeof token !== 'string' || token === '') throw new OAuthError('invalid_request', 'token is required.');
    return verifyOwn(token, s);
  }

  /** Our own token's claims when it verifies, else undefined. */
  async function verifyOwn(token: string, s: OAuthConfig): Promise<JWTPayload | undefined> {
    try {
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          const v = header.kid ? await o.keys.verifier(header.kid) : undefined;
          if (!v || v.alg !== header.alg) throw new Error('unknown key');
          return v.key;
        },
        { issuer: s.issuer, audience: s.audience, algorithms: ['ES256', 'RS256'], typ: 'at+jwt', currentDate: new Date(o.now()) },
      );
      return payload;
    } catch {
      return undefined;
    }
  }

  app.post(
    '/oauth/introspect',
    form,
    withClient(async (req, res, client, s) => {
      const p = await presentedToken(req, s);
      // Tokens of other tenants are "inactive" to this caller: no scanning across tenants.
      if (!p || p.tenant !== client.tenantId || (p.jti && (await o.revocations.isRevoked(p.jti)))) {
        res.json({ active: false });
        return;
      }
      res.json({ active: true, token_type: 'Bearer', scope: p.scope, client_id: p.client_id, sub: p.sub, aud: p.aud, iss: p.iss, exp: p.exp, iat: p.iat, jti: p.jti, tenant: p.tenant });
    }),
  );

  app.post(
    '/oauth/revoke',
    form,
    withClient(async (req, res, client, s) => {
      const p = await presentedToken(req, s);
      // RFC 7009 §2.2: an unknown or foreign token is answered 200 all the same.
      if (p?.jti && p.client_id === client.id && p.exp) await o.revocations.revoke(p.jti, p.exp * 1000);
      res.status(200).end();
    }),
  );

  app.use((_req: Request, res: Response) => {
    res.status(404).type('application/problem+json').json({ type: 'https://docs.quant.dev/errors#GW_NOT_FOUND', title: 'No route matches this path', status: 404, code: 'GW_NOT_FOUND' });
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.setHeader('Cache-Control', 'no-store');
    if (err instanceof OAuthError) {
      for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
      res.status(err.status).json({ error: err.error, error_description: err.description });
      return;
    }
    const retryAfter = (err as { retryAfter?: number }).retryAfter;
    if (retryAfter) {
      res.setHeader('Retry-After', String(retryAfter));
      res.status(429).json({ error: 'slow_down', error_description: 'Too many failed client authentications; retry later.' });
      return;
    }
    const type = (err as { type?: string }).type;
    if (type === 'entity.parse.failed' || type === 'entity.too.large' || type === 'parameters.too.many') {
      res.status(400).json({ error: 'invalid_request', error_description: 'The request body could not be read.' });
      return;
    }
    o.logger.error({ err }, 'authorization server error');
    res.status(500).json({ error: 'server_error', error_description: 'Internal error.' });
  });
  return app;
}
