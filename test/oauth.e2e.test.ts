// OAuth 2.0 end to end: interop with a maintained client library we did not write
// (oauth4webapi), the token endpoint's RFC 6749 errors, brute-force protection, attacks on the
// jwt policy, scopes, tenant isolation, signing-key rotation and external issuers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey } from 'jose';
import request from 'supertest';
import { createCoreService } from '../core-service/core-service.ts';
import { ADMIN_TOKEN, listenOn, startTestGateway, V1, type TestGateway } from './helpers.ts';
import { freePort } from './redis-server.ts';

const insecure = { [oauth.allowInsecureRequests]: true };

function oauthConfig(issuer: string, target: string, extraIssuers = ''): string {
  return `
oauth:
  issuer: ${issuer}
  audience: quant-partner-api
  maxTokenLifetimeSeconds: 600
  bruteForce: { perClient: 5, perIp: 1000, windowSeconds: 60 }
upstreams:
  - { name: core, target: ${target} }
apis:
  - name: partner
    policies:
      - policy: jwt
        config:
          issuers:
            - issuer: self
${extraIssuers}
      - policy: tenant
    versions:
      - name: v1
        basePath: /v1
        upstream: core
        upstreamPath: /api
        openapi: ${V1}
        routes:
          - { method: GET, path: /work-orders }
          - { method: GET, path: '/work-orders/{id}' }
          - method: POST
            path: /work-orders
            policies:
              - { policy: scopes, config: { required: [work-orders:write] } }
`;
}

async function startOAuthGateway(extraIssuers = '', opts: { now?: () => number } = {}) {
  const core = await listenOn(createCoreService().app);
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const gw = await startTestGateway(oauthConfig(issuer, core.url, extraIssuers), { port, now: opts.now });
  for (const t of ['acme', 'globex']) {
    gw.accounts.createTenant({ id: t, name: t });
    gw.accounts.createApp({ id: `${t}-app`, tenantId: t, name: t });
  }
  return { gw, core, issuer };
}

/** An access token from the gateway's token endpoint, by client_secret_basic. */
async function tokenFor(gw: TestGateway, c: { client: { id: string }; secret?: string }): Promise<string> {
  const r = await request(gw.url).post('/oauth/token').type('form').set('authorization', basic(c.client.id, c.secret!)).send({ grant_type: 'client_credentials' });
  return r.body.access_token as string;
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

describe('interop with oauth4webapi', () => {
  let gw: TestGateway;
  let core: Awaited<ReturnType<typeof listenOn>>;
  let issuer: string;
  before(async () => ({ gw, core, issuer } = await startOAuthGateway()));
  after(async () => {
    await gw.close();
    await core.close();
  });

  for (const method of ['client_secret_basic', 'private_key_jwt'] as const) {
    test(`discover, token (${method}), call, introspect, revoke, refused`, async () => {
      const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { algorithm: 'oauth2', ...insecure }));
      assert.equal(as.token_endpoint, `${issuer}/oauth/token`);
      let auth: oauth.ClientAuth;
      let clientId: string;
      if (method === 'client_secret_basic') {
        const c = gw.accounts.createClient({ appId: 'acme-app', name: 'partner', scopes: ['work-orders:read', 'work-orders:write'], tokenLifetimeSeconds: 300 });
        clientId = c.client.id;
        auth = oauth.ClientSecretBasic(c.secret!);
      } else {
        const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
        const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
        const c = gw.accounts.createClient({ appId: 'acme-app', name: 'signed', scopes: ['work-orders:read', 'work-orders:write'], tokenLifetimeSeconds: 300, jwks: { keys: [jwk] } });
        clientId = c.client.id;
        auth = oauth.PrivateKeyJwt({ key: privateKey as CryptoKey, kid: 'k1' });
      }
      const client: oauth.Client = { client_id: clientId };
      const tokenResponse = await oauth.processClientCredentialsResponse(
        as,
        client,
        await oauth.clientCredentialsGrantRequest(as, client, auth, new URLSearchParams({ scope: 'work-orders:write admin:everything' }), insecure),
      );
      assert.equal(tokenResponse.token_type, 'bearer');
      assert.equal(tokenResponse.scope, 'work-orders:write', 'requested scopes narrowed to those allowed');
      const token = tokenResponse.access_token;

      const created = await request(gw.url).post('/v1/work-orders').set('Authorization', `Bearer ${token}`).send({ summary: 'From a partner' });
      assert.equal(created.status, 201);
      assert.equal(created.body.tenantId, 'acme');

      const info = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, token, insecure));
      assert.equal(info.active, true);
      assert.equal(info.client_id, clientId);
      assert.equal(info.scope, 'work-orders:write');

      await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, token, insecure));
      const refused = await request(gw.url).get('/v1/work-orders').set('Authorization', `Bearer ${token}`);
      assert.equal(refused.status, 401);
      assert.equal(refused.body.code, 'GW_AUTH_REQUIRED');
      const after = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, token, insecure));
      assert.equal(after.active, false);
    });
  }
});

describe('token endpoint', () => {
  let gw: TestGateway;
  let core: Awaited<ReturnType<typeof listenOn>>;
  let issuer: string;
  let id: string;
  let secret: string;
  before(async () => {
    ({ gw, core, issuer } = await startOAuthGateway());
    const c = gw.accounts.createClient({ appId: 'acme-app', name: 'c', scopes: ['a', 'b'], tokenLifetimeSeconds: 3600 });
    id = c.client.id;
    secret = c.secret!;
  });
  after(async () => {
    await gw.close();
    await core.close();
  });
  const token = (form: Record<string, string>, headers: Record<string, string> = {}) =>
    request(gw.url).post('/oauth/token').type('form').set(headers).send(form);

  test('client_secret_post works; the token is an RFC 9068 JWT; responses are not cached', async () => {
    const r = await token({ grant_type: 'client_credentials', client_id: id, client_secret: secret });
    assert.equal(r.status, 200);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.body.expires_in, 600, 'capped at maxTokenLifetimeSeconds');
    assert.equal(r.body.scope, 'a b');
    const [h, p] = (r.body.access_token as string).split('.').slice(0, 2).map((x) => JSON.parse(Buffer.from(x, 'base64url').toString()));
    assert.equal(h.typ, 'at+jwt');
    assert.equal(h.alg, 'ES256');
    for (const claim of ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id', 'scope', 'tenant']) assert.ok(claim in p, claim);
    assert.equal(p.iss, issuer);
    assert.equal(p.tenant, 'acme');
  });

  test('errors are exactly those of RFC 6749 §5.2', async () => {
    const noGrant = await token({ client_id: id, client_secret: secret });
    assert.deepEqual([noGrant.status, noGrant.body.error], [400, 'invalid_request']);
    const wrongGrant = await token({ grant_type: 'password', client_id: id, client_secret: secret });
    assert.deepEqual([wrongGrant.status, wrongGrant.body.error], [400, 'unsupported_grant_type']);
    const scope = await token({ grant_type: 'client_credentials', scope: 'root' }, { authorization: basic(id, secret) });
    assert.deepEqual([scope.status, scope.body.error], [400, 'invalid_scope']);
    const bad = await token({ grant_type: 'client_credentials' }, { authorization: basic(id, 'wrong') });
    assert.deepEqual([bad.status, bad.body.error], [401, 'invalid_client']);
    assert.match(bad.headers['www-authenticate']!, /^Basic realm=/);
    const both = await token({ grant_type: 'client_credentials', client_id: id, client_secret: secret }, { authorization: basic(id, secret) });
    assert.deepEqual([both.status, both.body.error], [400, 'invalid_request']);
    const json = await request(gw.url).post('/oauth/token').send({ grant_type: 'client_credentials' });
    assert.deepEqual([json.status, json.body.error], [400, 'invalid_request']);
    for (const r of [noGrant, wrongGrant, scope, bad, both, json]) assert.equal(r.headers['cache-control'], 'no-store');
  });

  test('private_key_jwt: a replayed assertion (same jti) is refused', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const c = gw.accounts.createClient({ appId: 'acme-app', name: 'rs', scopes: ['a'], tokenLifetimeSeconds: 300, jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'r1' }] } });
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'r1' })
      .setIssuer(c.client.id)
      .setSubject(c.client.id)
      .setAudience(`${issuer}/oauth/token`)
      .setIssuedAt()
      .setExpirationTime('2m')
      .setJti(randomUUID())
      .sign(privateKey);
    const form = { grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion };
    assert.equal((await token(form)).status, 200);
    const replay = await token(form);
    assert.deepEqual([replay.status, replay.body.error], [401, 'invalid_client']);
  });

  test('failed client authentications are limited per client_id: 429 with Retry-After', async () => {
    const c = gw.accounts.createClient({ appId: 'acme-app', name: 'victim', scopes: [], tokenLifetimeSeconds: 300 });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await token({ grant_type: 'client_credentials' }, { authorization: basic(c.client.id, `guess-${i}`) })).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);
    const blocked = await token({ grant_type: 'client_credentials' }, { authorization: basic(c.client.id, c.secret!) });
    assert.equal(blocked.status, 429, 'even the right secret waits out the window');
    assert.ok(Number(blocked.headers['retry-after']) > 0);
  });

  test('metadata and JWKS are published', async () => {
    const m = await request(gw.url).get('/.well-known/oauth-authorization-server');
    assert.equal(m.body.issuer, issuer);
    assert.deepEqual(m.body.grant_types_supported, ['client_credentials']);
    const jwks = await request(gw.url).get('/.well-known/jwks.json');
    assert.equal(jwks.body.keys.length, 2, 'the active key and the next one');
    for (const k of jwks.body.keys) assert.equal(k.d, undefined, 'no private part');
  });

  test('admin API: clients listed without secrets; rotation through the admin API', async () => {
    const list = await request(gw.adminUrl).get('/admin/oauth/clients').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    assert.ok(list.body.items.length > 0);
    assert.ok(!JSON.stringify(list.body).includes('secretHash'));
    assert.ok(!JSON.stringify(list.body).includes(secret));
    const created = await request(gw.adminUrl).post('/admin/oauth/clients').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ appId: 'globex-app', scopes: ['x'] });
    assert.equal(created.status, 201);
    assert.match(created.body.clientSecret, /^[A-Za-z0-9_-]{43}$/);
    const keys = await request(gw.adminUrl).get('/admin/oauth/signing-keys').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    assert.ok(!JSON.stringify(keys.body).includes('privateJwkEnc'));
    const withPrivate = await request(gw.adminUrl).post('/admin/oauth/clients').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ appId: 'globex-app', jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'secret' }] } });
    assert.equal(withPrivate.status, 400, 'a private JWK is never accepted');
  });
});

describe('jwt policy attacks', () => {
  let gw: TestGateway;
  let core: Awaited<ReturnType<typeof listenOn>>;
  let issuer: string;
  let good: string;
  let publicJwk: Record<string, unknown>;
  before(async () => {
    ({ gw, core, issuer } = await startOAuthGateway());
    const c = gw.accounts.createClient({ appId: 'acme-app', name: 'c', scopes: ['work-orders:read'], tokenLifetimeSeconds: 600 });
    good = await tokenFor(gw, c);
    publicJwk = (await request(gw.url).get('/.well-known/jwks.json')).body.keys[0];
  });
  after(async () => {
    await gw.close();
    await core.close();
  });
  const call = (token: string) => request(gw.url).get('/v1/work-orders').set('Authorization', `Bearer ${token}`);
  const parts = () => good.split('.');
  const claims = () => JSON.parse(Buffer.from(parts()[1]!, 'base64url').toString()) as Record<string, unknown>;
  const header = () => JSON.parse(Buffer.from(parts()[0]!, 'base64url').toString()) as Record<string, unknown>;
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

  async function expect401(token: string, what: string) {
    const r = await call(token);
    assert.equal(r.status, 401, what);
    assert.equal(r.body.code, 'GW_AUTH_REQUIRED', what);
    assert.match(r.headers['content-type']!, /problem\+json/, what);
    assert.match(r.headers['www-authenticate']!, /^Bearer/, what);
    const text = JSON.stringify(r.body);
    assert.ok(!/JWS|JWT|ERR_|signature|alg/i.test(text), `${what}: no library text in ${text}`);
  }

  test('the genuine token works, and the upstream sees the identity, not the token', async () => {
    assert.equal((await call(good)).status, 200);
    const echo = await listenOn((req, res) => void res.end(JSON.stringify(req.headers)));
    const port = await freePort();
    const gw2 = await startTestGateway(oauthConfig(`http://127.0.0.1:${port}`, echo.url), { port });
    try {
      gw2.accounts.createTenant({ id: 'acme', name: 'acme' });
      gw2.accounts.createApp({ id: 'acme-app', tenantId: 'acme', name: 'a' });
      const c = gw2.accounts.createClient({ appId: 'acme-app', name: 'c', scopes: ['work-orders:read'], tokenLifetimeSeconds: 60 });
      const t = await tokenFor(gw2, c);
      const seen = JSON.parse((await request(gw2.url).get('/v1/work-orders').set('Authorization', `Bearer ${t}`)).text) as Record<string, string>;
      assert.equal(seen.authorization, undefined);
      assert.equal(seen['x-quant-tenant'], 'acme');
      assert.equal(seen['x-quant-scopes'], 'work-orders:read');
    } finally {
      await gw2.close();
      await echo.close();
    }
  });

  test('alg none, HS256 keyed with our public key, and a modified payload are refused', async () => {
    await expect401(new UnsecuredJWT(claims()).encode(), 'alg none');
    await expect401(`${b64({ alg: 'none', typ: 'at+jwt', kid: header().kid })}.${parts()[1]}.`, 'alg none, our kid');
    const hs = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: header().kid as string }).sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
    await expect401(hs, 'HS256 with the public key as secret');
    await expect401(`${parts()[0]}.${b64({ ...claims(), tenant: 'globex' })}.${parts()[2]}`, 'modified payload');
  });

  test('an unknown kid, or our kid on another key, is refused', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    await expect401(await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'attacker' }).sign(privateKey), 'unknown kid');
    await expect401(await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: header().kid as string }).sign(privateKey), 'our kid, another key');
    await expect401(await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: header().kid as string }).sign(privateKey), 'not at+jwt');
  });

  test('a revoked jti is refused even though its verification was cached', async () => {
    const c = gw.accounts.createClient({ appId: 'acme-app', name: 'rv', scopes: [], tokenLifetimeSeconds: 600 });
    const t = await tokenFor(gw, c);
    assert.equal((await call(t)).status, 200);
    await request(gw.url).post('/oauth/revoke').type('form').set('authorization', basic(c.client.id, c.secret!)).send({ token: t });
    await expect401(t, 'revoked jti, even though the verification was cached');
  });

  test('jku, x5u and embedded jwk headers are never trusted', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const hits: string[] = [];
    const trap = await listenOn((req, res) => {
      hits.push(req.url ?? '');
      res.end(JSON.stringify({ keys: [{ ...jwk, kid: 'trap' }] }));
    });
    try {
      for (const h of [{ jku: `${trap.url}/jwks`, kid: 'trap' }, { x5u: `${trap.url}/cert`, kid: 'trap' }, { jwk, kid: 'trap' }, { jwk }]) {
        const t = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', ...h }).sign(privateKey);
        await expect401(t, `header ${Object.keys(h).join(',')}`);
      }
      assert.deepEqual(hits, [], 'nothing was fetched');
    } finally {
      await trap.close();
    }
  });

  test('expiry is enforced on genuine tokens (clock moved past exp + skew)', async () => {
    let clock = Date.now();
    const { gw: gw2, core: core2 } = await startOAuthGateway('', { now: () => clock });
    try {
      const t = await tokenFor(gw2, gw2.accounts.createClient({ appId: 'acme-app', name: 'c', scopes: [], tokenLifetimeSeconds: 60 }));
      assert.equal((await request(gw2.url).get('/v1/work-orders').set('Authorization', `Bearer ${t}`)).status, 200);
      clock += 60_000 + 29_000;
      assert.equal((await request(gw2.url).get('/v1/work-orders').set('Authorization', `Bearer ${t}`)).status, 200, 'within the 30 s skew');
      clock += 2_000;
      assert.equal((await request(gw2.url).get('/v1/work-orders').set('Authorization', `Bearer ${t}`)).status, 401, 'expired, even though cached');
    } finally {
      await gw2.close();
      await core2.close();
    }
  });

  test('a token of tenant A gets no data of tenant B; a missing scope → 403 insufficient_scope', async () => {
    const b = gw.accounts.createClient({ appId: 'globex-app', name: 'b', scopes: ['work-orders:write'], tokenLifetimeSeconds: 600 });
    const tb = await tokenFor(gw, b);
    const created = await request(gw.url).post('/v1/work-orders').set('Authorization', `Bearer ${tb}`).set('X-Quant-Tenant', 'acme').send({ summary: 'Globex only' });
    assert.equal(created.status, 201);
    assert.equal(created.body.tenantId, 'globex');
    const fromA = await call(good).then(() => request(gw.url).get(`/v1/work-orders/${created.body.id}`).set('Authorization', `Bearer ${good}`));
    assert.equal(fromA.status, 404);
    const noScope = await request(gw.url).post('/v1/work-orders').set('Authorization', `Bearer ${good}`).send({ summary: 'x' });
    assert.equal(noScope.status, 403);
    assert.equal(noScope.body.code, 'GW_AUTH_INSUFFICIENT_SCOPE');
    assert.equal(noScope.headers['www-authenticate'], 'Bearer error="insufficient_scope", scope="work-orders:write"');
  });
});

describe('signing-key rotation', () => {
  test('old tokens work until they expire; the JWKS lists both keys meanwhile; a removed key is refused', async () => {
    let clock = Date.now();
    const { gw, core } = await startOAuthGateway('', { now: () => clock });
    try {
      const c = gw.accounts.createClient({ appId: 'acme-app', name: 'c', scopes: [], tokenLifetimeSeconds: 600 });
      const getToken = () => tokenFor(gw, c);
      const kidOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()).kid as string;
      const jwksKids = async () => ((await request(gw.url).get('/.well-known/jwks.json')).body.keys as { kid: string }[]).map((k) => k.kid).sort();

      const before = await jwksKids();
      const old = await getToken();
      const oldKid = kidOf(old);
      const r = await request(gw.adminUrl).post('/admin/oauth/signing-keys/rotate').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
      assert.equal(r.status, 200);
      assert.ok(before.includes(r.body.active), 'the new signing key was published before it signed');
      const fresh = await getToken();
      assert.equal(kidOf(fresh), r.body.active);
      assert.notEqual(kidOf(fresh), oldKid);
      const during = await jwksKids();
      assert.ok(during.includes(oldKid) && during.includes(kidOf(fresh)) && during.includes(r.body.next), 'old, active and next keys all published');
      for (const t of [old, fresh]) assert.equal((await request(gw.url).get('/v1/work-orders').set('Authorization', `Bearer ${t}`)).status, 200);

      // Past the longest token lifetime the retired key is removed, and with it its tokens.
      clock += 600_000 + 61_000;
      await gw.signingKeys.rotate('ES256', 600);
      assert.ok(!(await jwksKids()).includes(oldKid), 'the retired key left the JWKS');
      const forged = await new SignJWT(JSON.parse(Buffer.from(old.split('.')[1]!, 'base64url').toString()))
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: oldKid })
        .setExpirationTime(Math.floor(clock / 1000) + 300)
        .sign((await generateKeyPair('ES256')).privateKey);
      assert.equal((await request(gw.url).get('/v1/work-orders').set('Authorization', `Bearer ${forged}`)).status, 401);
      assert.equal((await request(gw.url).get('/v1/work-orders').set('Authorization', `Bearer ${old}`)).status, 401, 'the old token (expired, key removed) is refused');
    } finally {
      await gw.close();
      await core.close();
    }
  });
});

describe('external identity providers', () => {
  test('tokens of a configured issuer verify through its JWKS, with claims mapped; the JWKS is refetched for an unknown kid at most once per cooldown', async () => {
    const k1 = await generateKeyPair('RS256', { extractable: true });
    const k2 = await generateKeyPair('RS256', { extractable: true });
    let published = [{ ...(await exportJWK(k1.publicKey)), kid: 'idp-1', alg: 'RS256' }];
    let fetches = 0;
    const idp = await listenOn((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: published }));
    });
    const { gw, core } = await startOAuthGateway(`            - issuer: https://login.acme.example
              jwksUri: ${'${IDP}'}
              algorithms: [RS256]
              audience: quant
              cooldownSeconds: 60
              claims: { tenant: org_id, app: azp, subject: sub, scopes: scp }`.replace('${IDP}', `${idp.url}/jwks`));
    try {
      const mint = (key: typeof k1.privateKey, kid: string, extra: Record<string, unknown> = {}) =>
        new SignJWT({ org_id: 'acme', azp: 'erp-sync', scp: ['work-orders:read'], ...extra })
          .setProtectedHeader({ alg: 'RS256', kid })
          .setIssuer('https://login.acme.example')
          .setSubject('user-7')
          .setAudience('quant')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(key);
      const echo = await request(gw.url).get('/v1/work-orders').set('Authorization', `Bearer ${await mint(k1.privateKey, 'idp-1')}`);
      assert.equal(echo.status, 200);
      assert.equal(fetches, 1);
      // An unknown kid triggers one refetch; a second unknown kid within the cooldown does not.
      assert.equal((await request(gw.url).get('/v1/work-orders').set('Authorization', `Bearer ${await mint(k2.privateKey, 'idp-2')}`)).status, 401);
      assert.equal((await request(gw.url).get('/v1/work-orders').set('Authorization', `Bearer ${await mint(k2.privateKey, 'idp-3')}`)).status, 401);
      assert.ok(fetches <= 2, `JWKS fetched ${fetches} times`);
      const wrongAlg = await new SignJWT({ org_id: 'acme' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://login.acme.example').setSubject('u').setAudience('quant').setExpirationTime('5m').sign(new TextEncoder().encode('x'.repeat(32)));
      assert.equal((await request(gw.url).get('/v1/work-orders').set('Authorization', `Bearer ${wrongAlg}`)).status, 401);
      const noTenant = await mint(k1.privateKey, 'idp-1', { org_id: undefined });
      assert.equal((await request(gw.url).get('/v1/work-orders').set('Authorization', `Bearer ${noTenant}`)).status, 401);
      // Claim checks, with a token otherwise valid (right key, right kid): each alone refuses it.
      const now = Math.floor(Date.now() / 1000);
      const variant = (f: (j: SignJWT) => SignJWT) =>
        f(new SignJWT({ org_id: 'acme', azp: 'erp-sync' }).setProtectedHeader({ alg: 'RS256', kid: 'idp-1' }).setIssuer('https://login.acme.example').setSubject('u').setAudience('quant').setIssuedAt().setExpirationTime(now + 300)).sign(k1.privateKey);
      const cases: [string, (j: SignJWT) => SignJWT][] = [
        ['expired', (j) => j.setExpirationTime(now - 120)],
        ['not yet valid', (j) => j.setNotBefore(now + 120)],
        ['wrong issuer', (j) => j.setIssuer('https://login.evil.example')],
        ['wrong audience', (j) => j.setAudience('another-api')],
      ];
      assert.equal((await request(gw.url).get('/v1/work-orders').set('Authorization', `Bearer ${await variant((j) => j)}`)).status, 200, 'the base token is valid');
      for (const [what, f] of cases) {
        const r = await request(gw.url).get('/v1/work-orders').set('Authorization', `Bearer ${await variant(f)}`);
        assert.equal(r.status, 401, what);
        assert.equal(r.body.code, 'GW_AUTH_REQUIRED', what);
      }
      published = [...published, { ...(await exportJWK(k2.publicKey)), kid: 'idp-2', alg: 'RS256' }];
    } finally {
      await gw.close();
      await core.close();
      await idp.close();
    }
  });
});

test('a secret is stored only as a hash', async () => {
  const { gw, core } = await startOAuthGateway();
  try {
    const c = gw.accounts.createClient({ appId: 'acme-app', name: 'c', scopes: [], tokenLifetimeSeconds: 60 });
    const stored = gw.store.getOAuthClient(c.client.id)!;
    assert.equal(stored.secretHash, createHash('sha256').update(c.secret!).digest('hex'));
    const keys = gw.store.listSigningKeys();
    assert.ok(keys.every((k) => k.privateJwkEnc.startsWith('v1.') && !k.privateJwkEnc.includes('"d"')), 'private keys encrypted');
  } finally {
    await gw.close();
    await core.close();
  }
});
