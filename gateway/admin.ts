// The admin API, served only on the admin listener (loopback by default) and only with the
// admin token (`Authorization: Bearer …`). Tenants, apps, keys (create, list without secrets,
// revoke, rotate), reload, current config. `/healthz`, `/readyz` and `/metrics` on this listener
// need no token. Errors: GW_ADMIN_AUTH_REQUIRED, GW_ADMIN_BAD_REQUEST, GW_ADMIN_NOT_FOUND,
// GW_CONFIG_INVALID.
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Logger } from 'pino';
import { GatewayError } from '../policies/errors.ts';
import { StoreConflictError } from '../store/store.ts';
import { NotFoundError, type Accounts } from './accounts.ts';
import type { Gateway } from './gateway.ts';
import { sendProblem } from './gateway.ts';
import type { GatewayMetrics } from './observability.ts';
import type { SigningKeys } from './oauth/signing-keys.ts';

const ajv = new Ajv2020({ allErrors: true, coerceTypes: false, useDefaults: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const ID = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' };
const SCOPE = { type: 'string', pattern: '^[A-Za-z0-9:._*-]{1,64}$' };
// What keys and OAuth clients share: the app they belong to, a label, their scopes.
const CREDENTIAL = {
  appId: ID,
  name: { type: 'string', minLength: 1, maxLength: 200, default: 'default' },
  scopes: { type: 'array', items: SCOPE, uniqueItems: true, default: [] },
};
const bodies = {
  tenant: ajv.compile({ type: 'object', additionalProperties: false, required: ['name'], properties: { id: ID, name: { type: 'string', minLength: 1, maxLength: 200 } } }),
  app: ajv.compile({
    type: 'object',
    additionalProperties: false,
    required: ['tenantId', 'name'],
    properties: { id: ID, tenantId: ID, name: { type: 'string', minLength: 1, maxLength: 200 } },
  }),
  key: ajv.compile({
    type: 'object',
    additionalProperties: false,
    required: ['appId'],
    properties: {
      ...CREDENTIAL,
      apis: { type: 'array', items: { type: 'string', pattern: '^(\\*|[a-z][a-z0-9-]{0,62})$' }, uniqueItems: true, default: ['*'] },
      expiresAt: { type: 'string', format: 'date-time' },
      expiresInSeconds: { type: 'integer', minimum: 1 },
    },
  }),
  client: ajv.compile({
    type: 'object',
    additionalProperties: false,
    required: ['appId'],
    properties: {
      ...CREDENTIAL,
      tokenLifetimeSeconds: { type: 'integer', minimum: 60, maximum: 86400, default: 3600 },
      jwks: {
        type: 'object',
        required: ['keys'],
        properties: { keys: { type: 'array', minItems: 1, maxItems: 10, items: { type: 'object', required: ['kty'], not: { anyOf: [{ required: ['d'] }, { required: ['p'] }, { required: ['k'] }] } } } },
      },
      jwksUri: { type: 'string', pattern: '^https?://' },
    },
    not: { required: ['jwks', 'jwksUri'] },
  }),
  rotate: ajv.compile({
    type: 'object',
    additionalProperties: false,
    properties: { overlapSeconds: { type: 'integer', minimum: 0, maximum: 2592000, default: 86400 } },
  }),
};

function check<T>(v: (typeof bodies)[keyof typeof bodies], body: unknown): T {
  const data = structuredClone(body ?? {});
  if (!v(data)) {
    throw new GatewayError('GW_ADMIN_BAD_REQUEST', {
      errors: (v.errors ?? []).map((e) => ({
        pointer:
          e.instancePath +
          (e.keyword === 'required' ? `/${String(e.params.missingProperty)}` : e.keyword === 'additionalProperties' ? `/${String(e.params.additionalProperty)}` : ''),
        message: e.keyword === 'required' ? 'is required' : e.keyword === 'additionalProperties' ? 'is not allowed' : `is invalid (${e.keyword})`,
      })),
    });
  }
  return data as T;
}

export interface AdminOptions {
  token: string;
  accounts: Accounts;
  gateway: Gateway;
  metrics: GatewayMetrics;
  logger: Logger;
  ready: () => Promise<{ ok: boolean; checks: Record<string, boolean> }>;
  now: () => number;
  signingKeys: SigningKeys;
}

export function createAdminApp(o: AdminOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const tokenDigest = createHash('sha256').update(o.token).digest();
  const idOf = (req: Request) => String(req.headers['x-request-id'] ?? '');

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    const r = await o.ready();
    res.status(r.ok ? 200 : 503).json({ status: r.ok ? 'ready' : 'not-ready', checks: r.checks });
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', o.metrics.registry.contentType);
    res.end(await o.metrics.registry.metrics());
  });

  const admin = express.Router();
  admin.use((req, _res, next) => {
    const auth = req.headers.authorization ?? '';
    const given = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const ok = timingSafeEqual(createHash('sha256').update(given).digest(), tokenDigest) && given.length > 0;
    next(ok ? undefined : new GatewayError('GW_ADMIN_AUTH_REQUIRED', { headers: { 'WWW-Authenticate': 'Bearer' } }));
  });
  admin.use(express.json({ limit: '64kb' }));

  admin.get('/tenants', (_req, res) => void res.json({ items: o.accounts.listTenants() }));
  admin.post('/tenants', (req, res) => {
    res.status(201).json(o.accounts.createTenant(check(bodies.tenant, req.body)));
  });
  admin.get('/apps', (req, res) => {
    res.json({ items: o.accounts.listApps(typeof req.query.tenant === 'string' ? req.query.tenant : undefined) });
  });
  admin.post('/apps', (req, res) => {
    res.status(201).json(o.accounts.createApp(check(bodies.app, req.body)));
  });
  admin.get('/keys', (req, res) => {
    const f = { tenantId: typeof req.query.tenant === 'string' ? req.query.tenant : undefined, appId: typeof req.query.app === 'string' ? req.query.app : undefined };
    res.json({ items: o.accounts.listKeys(f) });
  });
  admin.post('/keys', (req, res) => {
    const b = check<{ appId: string; name: string; scopes: string[]; apis: string[]; expiresAt?: string; expiresInSeconds?: number }>(bodies.key, req.body);
    const expiresAt = b.expiresAt ?? (b.expiresInSeconds ? new Date(o.now() + b.expiresInSeconds * 1000).toISOString() : null);
    const issued = o.accounts.issueKey({ ...b, expiresAt });
    res.status(201).json({ ...issued.record, key: issued.key });
  });
  admin.post('/keys/:id/revoke', (req, res) => {
    res.json(o.accounts.revokeKey(String(req.params.id)));
  });
  admin.post('/keys/:id/rotate', (req, res) => {
    const b = check<{ overlapSeconds: number }>(bodies.rotate, req.body);
    const r = o.accounts.rotateKey(String(req.params.id), b.overlapSeconds);
    res.status(201).json({ ...r.record, key: r.key, previous: r.previous });
  });
  admin.get('/oauth/clients', (req, res) => {
    const f = { tenantId: typeof req.query.tenant === 'string' ? req.query.tenant : undefined, appId: typeof req.query.app === 'string' ? req.query.app : undefined };
    res.json({ items: o.accounts.listClients(f) });
  });
  admin.post('/oauth/clients', (req, res) => {
    const r = o.accounts.createClient(check(bodies.client, req.body));
    res.status(201).json({ ...r.client, ...(r.secret ? { clientSecret: r.secret } : {}) });
  });
  admin.post('/oauth/clients/:id/revoke', (req, res) => {
    res.json(o.accounts.revokeClient(String(req.params.id)));
  });
  admin.get('/oauth/signing-keys', (_req, res) => {
    res.json({ items: o.signingKeys.list().map(({ privateJwkEnc: _p, ...k }) => k) });
  });
  admin.post('/oauth/signing-keys/rotate', async (_req, res, next) => {
    const s = o.gateway.config().oauth;
    if (!s) return next(new GatewayError('GW_ADMIN_NOT_FOUND', { detail: 'The config has no oauth section.' }));
    try {
      res.json(await o.signingKeys.rotate(s.algorithm, s.maxTokenLifetimeSeconds));
    } catch (err) {
      next(err);
    }
  });
  admin.post('/reload', async (_req, res, next) => {
    try {
      const r = await o.gateway.reload();
      if (r.ok) res.json({ status: 'reloaded' });
      else
        next(
          new GatewayError('GW_CONFIG_INVALID', {
            detail: 'The running config stays in place.',
            errors: r.problems.map((p) => ({ pointer: p.pointer, message: `${p.file}: ${p.message}` })),
          }),
        );
    } catch (err) {
      next(err);
    }
  });
  admin.get('/config', (_req, res) => {
    const c = o.gateway.config();
    res.json({
      file: c.file,
      server: c.server,
      upstreams: c.upstreams.map((u) => ({ ...u, headers: Object.fromEntries(Object.keys(u.headers).map((k) => [k, '[redacted]'])) })),
      policies: c.policies,
      apis: c.apis,
    });
  });
  app.use('/admin', admin);
  app.use((req, _res, next) => next(new GatewayError('GW_ADMIN_NOT_FOUND')));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let e = err;
    if (err instanceof NotFoundError) e = new GatewayError('GW_ADMIN_NOT_FOUND');
    else if (err instanceof StoreConflictError) e = new GatewayError('GW_ADMIN_BAD_REQUEST', { detail: 'A resource with this id exists.' });
    else if (err && typeof err === 'object' && 'type' in err && (err as { type: string }).type === 'entity.parse.failed') {
      e = new GatewayError('GW_ADMIN_BAD_REQUEST', { detail: 'The body is not valid JSON.' });
    } else if (!(err instanceof GatewayError)) o.logger.error({ err }, 'admin API error');
    sendProblem(res, e, idOf(req));
  });
  return app;
}
