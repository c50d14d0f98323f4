// Loads the gateway's YAML file: parse, validate against the composed schema (every error, each
// with file and JSON pointer), apply defaults to a copy, resolve environment references, load
// the OpenAPI documents it names, check cross-references, and deep-freeze the result.
// A bad file never starts the gateway and never replaces a running config.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parseDocument, LineCounter } from 'yaml';
import type { PolicyDefinition } from '../policies/contract.ts';
import { isCidr } from '../policies/ip-filter/ip-filter.ts';
import { loadContract, ContractError, type Contract } from '../openapi/contract.ts';
import { buildConfigSchema } from './config-schema.ts';
import type { CompiledMapping } from '../transforms/engine.ts';
import { loadMappings } from '../transforms/registry.ts';

export interface PolicyEntry {
  readonly policy: string;
  readonly enabled: boolean;
  readonly config: Readonly<Record<string, unknown>>;
}

export interface RouteTransformConfig {
  readonly request?: string;
  readonly response?: string;
  readonly pagination?: 'cursor';
  readonly query?: Readonly<Record<string, string>>;
}

export interface RouteConfig {
  readonly id?: string;
  readonly method: string;
  readonly path: string;
  readonly policies: readonly PolicyEntry[];
  readonly transform?: RouteTransformConfig;
}

export interface VersionConfig {
  readonly name: string;
  readonly basePath: string;
  readonly upstream: string;
  readonly upstreamPath: string;
  readonly openapi?: string;
  readonly mappings?: string;
  readonly caseInsensitive: boolean;
  readonly deprecation?: { readonly deprecated: string; readonly sunset?: string; readonly successor?: string; readonly afterSunset: 'gone' | 'serve' };
  readonly policies: readonly PolicyEntry[];
  readonly routes: readonly RouteConfig[];
}

export interface ApiConfig {
  readonly name: string;
  readonly policies: readonly PolicyEntry[];
  readonly versions: readonly VersionConfig[];
}

export interface UpstreamConfig {
  readonly name: string;
  readonly target: string;
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
  readonly keepAlive: { readonly maxSockets: number; readonly maxFreeSockets: number; readonly idleMs: number };
  readonly headers: Readonly<Record<string, string>>;
}

export interface OAuthConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly algorithm: 'ES256' | 'RS256';
  readonly maxTokenLifetimeSeconds: number;
  readonly keyRotationDays: number;
  readonly bruteForce: { readonly perClient: number; readonly perIp: number; readonly windowSeconds: number };
}

export interface GatewayConfig {
  readonly file: string;
  readonly oauth?: OAuthConfig;
  readonly server: { readonly trustedProxies: readonly string[]; readonly requestIdHeader: string; readonly mode: 'production' | 'development' };
  readonly upstreams: readonly UpstreamConfig[];
  readonly policies: readonly PolicyEntry[];
  readonly apis: readonly ApiConfig[];
  /** OpenAPI contracts by `api/version`. */
  readonly contracts: ReadonlyMap<string, Contract>;
  /** Compiled version mappings by `api/version`, then mapping name. */
  readonly mappings: ReadonlyMap<string, ReadonlyMap<string, CompiledMapping>>;
}

export interface ConfigProblem {
  readonly file: string;
  readonly pointer: string;
  readonly message: string;
}

export class ConfigError extends Error {
  readonly code = 'GW_CONFIG_INVALID';
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`configuration is invalid:\n${problems.map((p) => `  ${p.file}#${p.pointer}: ${p.message}`).join('\n')}`);
  }
}

const SECRET_HEADER = /^(authorization|proxy-authorization|x-api-key|cookie)$|secret|token|password/i;

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Compiles the file schema once per policy list. */
export function createConfigLoader(policies: readonly PolicyDefinition<any>[]) {
  const ajv = new Ajv2020({ allErrors: true, useDefaults: true, coerceTypes: false, strict: true, strictRequired: false });
  ajv.addFormat('cidr', isCidr);
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)) });
  const schema = buildConfigSchema(policies);
  const validate = ajv.compile(schema);
  const byName = new Map(policies.map((p) => [p.name, p]));
  // Ajv applies no defaults inside if/then, so each policy's own schema fills its defaults
  // after the file as a whole has passed.
  const withDefaults = new Map(policies.map((p) => [p.name, ajv.compile(p.configSchema)]));

  async function load(file: string, env: Readonly<Record<string, string | undefined>>): Promise<GatewayConfig> {
    const problems: ConfigProblem[] = [];
    const fail = (pointer: string, message: string) => problems.push({ file, pointer, message });
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new ConfigError([{ file, pointer: '', message: 'cannot read the file' }]);
    }
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
    if (doc.errors.length > 0) {
      throw new ConfigError(
        doc.errors.map((e) => {
          const pos = e.linePos?.[0];
          return { file, pointer: '', message: `YAML ${pos ? `line ${pos.line} col ${pos.col}` : ''}: ${e.code}` };
        }),
      );
    }
    const data = structuredClone(doc.toJS()) as Record<string, unknown>;
    if (!validate(data)) {
      for (const e of validate.errors ?? []) {
        if (e.keyword === 'if') continue;
        const p = e.params as Record<string, unknown>;
        let pointer = e.instancePath;
        let message = e.message ?? 'is invalid';
        if (e.keyword === 'required') {
          pointer += `/${String(p.missingProperty)}`;
          message = 'is required';
        } else if (e.keyword === 'additionalProperties') {
          pointer += `/${String(p.additionalProperty)}`;
          message = 'is not a known setting';
        } else if (e.keyword === 'enum') {
          message = `must be one of: ${(p.allowedValues as unknown[]).join(', ')}`;
        }
        fail(pointer, message);
      }
      throw new ConfigError(dedupe(problems));
    }
    const cfg = data as unknown as {
      server: GatewayConfig['server'];
      oauth?: OAuthConfig;
      upstreams: (Omit<UpstreamConfig, 'headers'> & { headers: Record<string, string | { env: string }> })[];
      policies: PolicyEntry[];
      apis: ApiConfig[];
    };

    // Environment references: `${VAR}` in targets, `{ env: VAR }` in header values.
    const upstreams: UpstreamConfig[] = cfg.upstreams.map((u, i) => {
      const target = u.target.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_, name: string) => {
        const v = env[name];
        if (v === undefined) fail(`/upstreams/${i}/target`, `environment variable ${name} is not set`);
        return v ?? '';
      });
      if (target && !/^https?:\/\/[^/?#]+$/.test(target)) fail(`/upstreams/${i}/target`, 'must be a base URL like http://host:port, with no path');
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(u.headers)) {
        const ptr = `/upstreams/${i}/headers/${escapePointer(name)}`;
        if (typeof value === 'string') {
          if (SECRET_HEADER.test(name)) fail(ptr, 'secret values must be referenced as { env: NAME }, not written in the file');
          headers[name.toLowerCase()] = value;
        } else {
          const v = env[value.env];
          if (v === undefined) fail(ptr, `environment variable ${value.env} is not set`);
          else headers[name.toLowerCase()] = v;
        }
      }
      return { ...u, target, headers };
    });

    let oauth = cfg.oauth;
    if (oauth) {
      const issuer = oauth.issuer.replace(/^\$\{([A-Z_][A-Z0-9_]*)\}$/, (_, name: string) => {
        const v = env[name];
        if (v === undefined) fail('/oauth/issuer', `environment variable ${name} is not set`);
        return v ?? '';
      });
      if (issuer && !/^https?:\/\/[^?#]+[^/?#]$/.test(issuer)) fail('/oauth/issuer', 'must be an http(s) URL with no trailing slash');
      oauth = { ...oauth, issuer };
    }

    const upstreamNames = new Set<string>();
    upstreams.forEach((u, i) => {
      if (upstreamNames.has(u.name)) fail(`/upstreams/${i}/name`, `upstream "${u.name}" is declared twice`);
      upstreamNames.add(u.name);
    });

    const contracts = new Map<string, Contract>();
    const mappings = new Map<string, ReadonlyMap<string, CompiledMapping>>();
    const apiNames = new Set<string>();
    const basePaths = new Map<string, string>();
    for (const [ai, api] of cfg.apis.entries()) {
      if (apiNames.has(api.name)) fail(`/apis/${ai}/name`, `API "${api.name}" is declared twice`);
      apiNames.add(api.name);
      for (const [vi, v] of api.versions.entries()) {
        const vp = `/apis/${ai}/versions/${vi}`;
        if (!upstreamNames.has(v.upstream)) fail(`${vp}/upstream`, `no upstream named "${v.upstream}"`);
        const bp = v.basePath.toLowerCase();
        if (basePaths.has(bp)) fail(`${vp}/basePath`, `base path already used by ${basePaths.get(bp)}`);
        basePaths.set(bp, `${api.name}/${v.name}`);
        if (v.deprecation?.sunset && Date.parse(v.deprecation.sunset) <= Date.parse(v.deprecation.deprecated)) {
          fail(`${vp}/deprecation/sunset`, 'the sunset must come after the deprecation date');
        }
        if (v.mappings) {
          try {
            mappings.set(`${api.name}/${v.name}`, loadMappings({ dir: resolve(dirname(file), v.mappings) }));
          } catch (err) {
            fail(`${vp}/mappings`, (err as Error).message);
          }
        }
        const known = mappings.get(`${api.name}/${v.name}`);
        v.routes.forEach((r, ri) => {
          const t = r.transform;
          if (!t) return;
          for (const which of ['request', 'response'] as const) {
            const name = t[which];
            if (name && !known?.has(name)) fail(`${vp}/routes/${ri}/transform/${which}`, `no mapping named "${name}" in this version's mappings`);
          }
          for (const [param, field] of Object.entries(t.query ?? {})) {
            const m = t.response ? known?.get(t.response) : undefined;
            if (!m?.document.fields[field]?.map) fail(`${vp}/routes/${ri}/transform/query/${escapePointer(param)}`, `the response mapping has no value-mapped field "${field}"`);
          }
        });
        if (v.openapi) {
          const docFile = resolve(dirname(file), v.openapi);
          try {
            contracts.set(`${api.name}/${v.name}`, await loadContract(docFile));
          } catch (err) {
            if (err instanceof ContractError) fail(`${vp}/openapi`, `${err.file}#${err.pointer}: ${err.message}`);
            else throw err;
          }
        }
      }
    }

    // Each policy's `config` was checked by the composed schema; here, checks it cannot express.
    const checkEntries = (list: PolicyEntry[], ptr: string) =>
      list.forEach((e, i) => {
        withDefaults.get(e.policy)?.(e.config);
        if (!byName.has(e.policy)) fail(`${ptr}/${i}/policy`, `unknown policy "${e.policy}"`);
        if (e.policy === 'jwt' && !cfg.oauth && (e.config.issuers as { issuer: string }[] | undefined)?.some((x) => x.issuer === 'self')) {
          fail(`${ptr}/${i}/config/issuers`, 'issuer "self" needs the oauth section');
        }
        if (list.findIndex((o) => o.policy === e.policy) !== i) {
          fail(`${ptr}/${i}/policy`, `policy "${e.policy}" appears twice at this level`);
        }
      });
    checkEntries(cfg.policies, '/policies');
    cfg.apis.forEach((api, ai) => {
      checkEntries(api.policies as PolicyEntry[], `/apis/${ai}/policies`);
      api.versions.forEach((v, vi) => {
        checkEntries(v.policies as PolicyEntry[], `/apis/${ai}/versions/${vi}/policies`);
        v.routes.forEach((r, ri) =>
          checkEntries(r.policies as PolicyEntry[], `/apis/${ai}/versions/${vi}/routes/${ri}/policies`),
        );
      });
    });

    if (problems.length > 0) throw new ConfigError(dedupe(problems));
    return deepFreeze({
      file,
      server: cfg.server,
      oauth,
      upstreams,
      policies: cfg.policies,
      apis: cfg.apis,
      contracts,
      mappings,
    }) as GatewayConfig;
  }

  return { load, schema };
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.pointer}\u0000${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
