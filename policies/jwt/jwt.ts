// jwt: authenticates a call by a bearer JWT — the gateway's own access tokens (`issuer: self`)
// or tokens of enterprise identity providers, each configured by issuer and JWKS URL. Algorithms
// are pinned per issuer; `iss`, `aud`, `exp`, `nbf` are checked with a small clock skew; tokens
// carrying `jku`, `x5u`, `jwk` or `x5c` headers are refused outright (keys come only from the
// configured sets). Claims map to tenant, app, subject and scopes. A verified token is cached
// until it expires, so the hot path repeats no signature check; revocation is checked on every
// call. The token is not passed upstream unless `forwardToken` says so. Any failure → 401 GW_AUTH_REQUIRED with `WWW-Authenticate: Bearer error="invalid_token"`.
//
//   - policy: jwt
//     config:
//       issuers:
//         - issuer: self
//         - issuer: https://login.acme.example
//           jwksUri: https://login.acme.example/.well-known/jwks.json
//           algorithms: [RS256]
//           audience: quant
//           claims: { tenant: org_id, app: azp, subject: sub, scopes: scp }
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { GatewayError } from '../errors.ts';
import { definePolicy, type Identity, type RequestContext } from '../contract.ts';

interface IssuerConfig {
  issuer: string;
  jwksUri?: string;
  algorithms: string[];
  audience?: string;
  typ?: string;
  claims: { tenant: string; app: string; subject: string; scopes: string };
  timeoutMs: number;
  cooldownSeconds: number;
  cacheMaxAgeSeconds: number;
}

interface JwtConfig {
  optional: boolean;
  forwardToken: boolean;
  issuers: IssuerConfig[];
  clockSkewSeconds: number;
  cacheSize: number;
}

const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit'] as const;

function unauthorized(): GatewayError {
  return new GatewayError('GW_AUTH_REQUIRED', { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
}

function claimString(p: JWTPayload, name: string): string | undefined {
  const v = p[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function claimScopes(p: JWTPayload, name: string): string[] {
  const v = p[name];
  if (typeof v === 'string') return v.split(' ').filter(Boolean);
  if (Array.isArray(v)) return v.filter((s): s is string => typeof s === 'string');
  return [];
}

export const jwtPolicy = definePolicy<JwtConfig>({
  name: 'jwt',
  phase: 'auth',
  description: "Authenticates calls by bearer JWTs: the gateway's own access tokens and external identity providers'.",
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['issuers'],
    properties: {
      optional: {
        type: 'boolean',
        default: false,
        description: 'When no bearer token is sent (or another auth policy already identified the caller), pass the call on.',
      },
      issuers: {
        type: 'array',
        minItems: 1,
        description: 'Accepted issuers; `self` is this gateway.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['issuer'],
          properties: {
            issuer: { type: 'string', minLength: 1, description: '`self`, or the exact `iss` value of an external provider.' },
            jwksUri: { type: 'string', pattern: '^https?://', description: 'JWKS of an external issuer (required unless self).' },
            algorithms: {
              type: 'array',
              items: { enum: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] },
              minItems: 1,
              default: ['RS256', 'ES256'],
              description: 'Algorithms accepted from this issuer; nothing else is.',
            },
            audience: { type: 'string', description: 'Required `aud`; self defaults to the authorization server audience.' },
            typ: { type: 'string', description: 'Required `typ` header; self requires at+jwt.' },
            claims: {
              type: 'object',
              additionalProperties: false,
              default: {},
              description: 'Claim names for the identity.',
              properties: {
                tenant: { type: 'string', default: 'tenant', description: 'Claim holding the tenant id.' },
                app: { type: 'string', default: 'client_id', description: 'Claim holding the app (client) id.' },
                subject: { type: 'string', default: 'sub', description: 'Claim holding the subject.' },
                scopes: { type: 'string', default: 'scope', description: 'Claim holding scopes (space-separated string or array).' },
              },
            },
            timeoutMs: { type: 'integer', minimum: 100, maximum: 30000, default: 3000, description: 'JWKS fetch timeout.' },
            cooldownSeconds: { type: 'integer', minimum: 1, default: 30, description: 'Least time between JWKS refetches on an unknown kid.' },
            cacheMaxAgeSeconds: { type: 'integer', minimum: 60, default: 600, description: 'How long a fetched JWKS is used.' },
          },
        },
      },
      clockSkewSeconds: { type: 'integer', minimum: 0, maximum: 300, default: 30, description: 'Tolerance for exp and nbf.' },
      forwardToken: {
        type: 'boolean',
        default: false,
        description: 'Pass the bearer token on to the upstream; by default it sees only the X-Quant-* identity.',
      },
      cacheSize: { type: 'integer', minimum: 0, maximum: 1000000, default: 10000, description: 'Verified tokens kept; 0 verifies every call.' },
    },
  },
  create(config, deps) {
    const external = new Map<string, { cfg: IssuerConfig; keys: JWTVerifyGetKey }>();
    let self: IssuerConfig | undefined;
    for (const i of config.issuers) {
      if (i.issuer === 'self') {
        if (!deps.localIssuer) throw new Error('issuer "self" needs the oauth section of the config');
        self = i;
        continue;
      }
      if (!i.jwksUri) throw new Error(`issuer ${i.issuer} needs a jwksUri`);
      const keys = deps.keep(`jwks:${i.jwksUri}:${i.cooldownSeconds}:${i.cacheMaxAgeSeconds}:${i.timeoutMs}`, () =>
        createRemoteJWKSet(new URL(i.jwksUri!), {
          timeoutDuration: i.timeoutMs,
          cooldownDuration: i.cooldownSeconds * 1000,
          cacheMaxAge: i.cacheMaxAgeSeconds * 1000,
        }),
      );
      external.set(i.issuer, { cfg: i, keys });
    }
    const local = deps.localIssuer;
    const selfKeys: JWTVerifyGetKey = async (header) => {
      const v = header.kid ? await local!.verifier(header.kid) : undefined;
      if (!v || v.alg !== header.alg) throw unauthorized();
      return v.key;
    };
    type Verified = { identity: Identity; exp: number; jti?: string; self: boolean };
    const cache = new Map<string, Verified>();

    const verify = async (token: string): Promise<Verified> => {
      let header;
      let unverified;
      try {
        header = decodeProtectedHeader(token);
        unverified = decodeJwt(token);
      } catch {
        throw unauthorized();
      }
      if (FORBIDDEN_HEADERS.some((h) => h in header)) throw unauthorized();
      const isSelf = self !== undefined && unverified.iss === local!.issuer;
      const ext = isSelf ? undefined : external.get(String(unverified.iss));
      const cfg = isSelf ? self! : ext?.cfg;
      if (!cfg) throw unauthorized();
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, isSelf ? selfKeys : ext!.keys, {
          issuer: isSelf ? local!.issuer : cfg.issuer,
          audience: cfg.audience ?? (isSelf ? local!.audience : undefined),
          algorithms: cfg.algorithms,
          typ: cfg.typ ?? (isSelf ? 'at+jwt' : undefined),
          clockTolerance: config.clockSkewSeconds,
          requiredClaims: ['exp'],
          currentDate: new Date(deps.now()),
        }));
      } catch {
        throw unauthorized();
      }
      const tenant = claimString(payload, cfg.claims.tenant);
      const subject = claimString(payload, cfg.claims.subject);
      if (!tenant || !subject) throw unauthorized();
      const identity: Identity = Object.freeze({
        tenant,
        app: claimString(payload, cfg.claims.app) ?? subject,
        subject,
        scopes: Object.freeze(claimScopes(payload, cfg.claims.scopes)),
        credentialId: payload.jti ?? subject,
      });
      return { identity, exp: payload.exp! * 1000 + config.clockSkewSeconds * 1000, jti: payload.jti, self: isSelf };
    };

    const accept = (ctx: RequestContext, v: Verified) => {
      ctx.identity = v.identity;
      if (!config.forwardToken) ctx.hideFromUpstream('authorization');
    };
    const admit = (ctx: RequestContext, v: Verified): void | Promise<void> => {
      if (v.self && v.jti) {
        const revoked = local!.isRevoked(v.jti);
        if (revoked === true) throw unauthorized();
        if (revoked !== false) {
          return revoked.then((r) => {
            if (r) throw unauthorized();
            accept(ctx, v);
          });
        }
      }
      accept(ctx, v);
    };
    // Synchronous when the token was verified before (and revocation is answered locally), so a
    // cached token costs no promise.
    return function jwt(ctx) {
      if (ctx.identity && config.optional) return;
      const auth = ctx.req.headers.authorization;
      if (typeof auth !== 'string' || auth.slice(0, 7).toLowerCase() !== 'bearer ') {
        if (config.optional) return;
        throw new GatewayError('GW_AUTH_REQUIRED', { headers: { 'WWW-Authenticate': 'Bearer' } });
      }
      // Cached by the whole header value: no substring is cut on the hot path.
      const v = cache.get(auth);
      if (v && v.exp > deps.now()) return admit(ctx, v);
      if (v) cache.delete(auth);
      return verify(auth.slice(7).trim()).then((fresh) => {
        if (config.cacheSize > 0) {
          if (cache.size >= config.cacheSize) cache.delete(cache.keys().next().value as string);
          cache.set(auth, fresh);
        }
        return admit(ctx, fresh);
      });
    };
  },
});
