// quant-gw: the operators' command line, a thin client of the admin API (so it acts on a
// running gateway exactly as the API does). Connection: --admin-url / QGW_ADMIN_URL
// (default http://127.0.0.1:8081), --token / QGW_ADMIN_TOKEN, or the token file under ./data.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

interface Conn {
  adminUrl: string;
  token: string;
}

function connection(cmd: Command): Conn {
  const o = cmd.optsWithGlobals<{ adminUrl?: string; token?: string }>();
  const adminUrl = o.adminUrl ?? process.env.QGW_ADMIN_URL ?? 'http://127.0.0.1:8081';
  let token = o.token ?? process.env.QGW_ADMIN_TOKEN;
  const file = join(resolve(process.env.QGW_DATA_DIR ?? join(root, 'data')), 'admin-token');
  if (!token && existsSync(file)) token = readFileSync(file, 'utf8').trim();
  if (!token) fail('no admin token: pass --token, set QGW_ADMIN_TOKEN, or run where ./data/admin-token exists');
  return { adminUrl: adminUrl.replace(/\/$/, ''), token: token! };
}

function fail(msg: string): never {
  process.stderr.write(`quant-gw: ${msg}\n`);
  process.exit(1);
}

async function call(cmd: Command, method: string, path: string, body?: unknown): Promise<unknown> {
  const c = connection(cmd);
  let res: Response;
  try {
    res = await fetch(`${c.adminUrl}/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${c.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    fail(`cannot reach the admin API at ${c.adminUrl}`);
  }
  const text = await res.text();
  const data = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!res.ok) {
    const errors = (data.errors as { pointer: string; message: string }[] | undefined) ?? [];
    fail([`${res.status} ${String(data.code ?? '')}: ${String(data.detail ?? data.title ?? '')}`, ...errors.map((e) => `  ${e.pointer}: ${e.message}`)].join('\n'));
  }
  return data;
}

const print = (v: unknown): void => void process.stdout.write(JSON.stringify(v, null, 2) + '\n');
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

const program = new Command('quant-gw')
  .description('Operate a running Quant Gateway through its admin API')
  .option('--admin-url <url>', 'admin API base URL')
  .option('--token <token>', 'admin token');

const tenants = program.command('tenants').description('tenants');
tenants.command('list').action(async (_o, cmd: Command) => print(await call(cmd, 'GET', '/tenants')));
tenants
  .command('create')
  .requiredOption('--name <name>')
  .option('--id <id>')
  .action(async (o: { name: string; id?: string }, cmd: Command) => print(await call(cmd, 'POST', '/tenants', o)));

const apps = program.command('apps').description('apps of a tenant');
apps
  .command('list')
  .option('--tenant <id>')
  .action(async (o: { tenant?: string }, cmd: Command) => print(await call(cmd, 'GET', `/apps${o.tenant ? `?tenant=${encodeURIComponent(o.tenant)}` : ''}`)));
apps
  .command('create')
  .requiredOption('--tenant <id>')
  .requiredOption('--name <name>')
  .option('--id <id>')
  .action(async (o: { tenant: string; name: string; id?: string }, cmd: Command) =>
    print(await call(cmd, 'POST', '/apps', { tenantId: o.tenant, name: o.name, ...(o.id ? { id: o.id } : {}) })),
  );

interface CredentialOptions {
  app: string;
  name: string;
  scopes: string;
}

/**
 * What API keys and OAuth clients share: `list` (by --tenant / --app), `revoke <id>`, and a
 * `create` with --app, --name and --scopes, returned for the options of its own kind;
 * `credentialBody` is the matching part of the admin body.
 */
function credentialCommands(parent: Command, path: string, scopesHelp: string): Command {
  parent
    .command('list')
    .option('--tenant <id>')
    .option('--app <id>')
    .action(async (o: { tenant?: string; app?: string }, cmd: Command) => {
      const q = new URLSearchParams(Object.entries(o).filter(([, v]) => v) as [string, string][]);
      print(await call(cmd, 'GET', `${path}${q.size ? `?${q}` : ''}`));
    });
  parent.command('revoke <id>').action(async (id: string, _o, cmd: Command) => print(await call(cmd, 'POST', `${path}/${encodeURIComponent(id)}/revoke`)));
  return parent.command('create').requiredOption('--app <id>').option('--name <name>', 'label', 'default').option('--scopes <list>', scopesHelp, '');
}

const credentialBody = (o: CredentialOptions) => ({ appId: o.app, name: o.name, scopes: list(o.scopes) });

function readJwks(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return fail(`cannot read a JSON JWK Set from ${file}`);
  }
}

const keys = program.command('keys').description('API keys (the secret is printed once, at creation)');
credentialCommands(keys, '/keys', 'comma-separated scopes')
  .option('--apis <list>', 'comma-separated API names, or *', '*')
  .option('--expires-in <seconds>', 'lifetime in seconds')
  .action(async (o: CredentialOptions & { apis: string; expiresIn?: string }, cmd: Command) =>
    print(
      await call(cmd, 'POST', '/keys', {
        ...credentialBody(o),
        apis: list(o.apis),
        ...(o.expiresIn ? { expiresInSeconds: Number(o.expiresIn) } : {}),
      }),
    ),
  );
keys
  .command('rotate <id>')
  .option('--overlap <seconds>', 'how long the old key keeps working', '86400')
  .action(async (id: string, o: { overlap: string }, cmd: Command) =>
    print(await call(cmd, 'POST', `/keys/${encodeURIComponent(id)}/rotate`, { overlapSeconds: Number(o.overlap) })),
  );

const clients = program.command('clients').description('OAuth 2.0 clients (a secret is printed once, at creation)');
credentialCommands(clients, '/oauth/clients', 'comma-separated scopes the client may ask for')
  .option('--lifetime <seconds>', 'access token lifetime', '3600')
  .option('--jwks-file <file>', 'public JWK Set for private_key_jwt (no secret is issued)')
  .option('--jwks-uri <url>', 'URL of the public JWK Set for private_key_jwt')
  .action(async (o: CredentialOptions & { lifetime: string; jwksFile?: string; jwksUri?: string }, cmd: Command) =>
    print(
      await call(cmd, 'POST', '/oauth/clients', {
        ...credentialBody(o),
        tokenLifetimeSeconds: Number(o.lifetime),
        ...(o.jwksFile ? { jwks: readJwks(o.jwksFile) } : {}),
        ...(o.jwksUri ? { jwksUri: o.jwksUri } : {}),
      }),
    ),
  );

const signing = program.command('signing-keys').description('the authorization server signing keys');
signing.command('list').action(async (_o, cmd: Command) => print(await call(cmd, 'GET', '/oauth/signing-keys')));
signing.command('rotate').description('next → active, active → retired (published until its tokens expire)').action(async (_o, cmd: Command) => print(await call(cmd, 'POST', '/oauth/signing-keys/rotate')));

program.command('reload').description('reload the config file').action(async (_o, cmd: Command) => print(await call(cmd, 'POST', '/reload')));
const config = program.command('config').description('configuration');
config.command('show').action(async (_o, cmd: Command) => print(await call(cmd, 'GET', '/config')));

await program.parseAsync();
