// Builds, from a loaded config, everything a request needs: the route table, one ordered list
// of policy handlers per route (global → api → version → route, the most specific entry of a
// name winning, `enabled: false` removing it), and one proxy per upstream. Policies are created
// here, once; any refusal (a policy's checkRoute, a throwing create) is a config problem with
// its pointer, so a runtime is either wholly built or not at all.
import { PHASES, type Handler, type PolicyDefinition, type PolicyDeps, type RouteInfo } from '../policies/contract.ts';
import { ConfigError, type ConfigProblem, type GatewayConfig, type PolicyEntry } from './config.ts';
import { createUpstream, type Upstream } from './proxy.ts';
import { RouteTable } from './routes.ts';
import { createRouteTransform, type RouteTransform } from './version-transform.ts';

export interface CompiledRoute extends RouteInfo {
  readonly handlers: readonly Handler[];
  /** How many leading handlers belong to the `pre` phase (all a CORS preflight runs). */
  readonly preCount: number;
  readonly upstream: Upstream;
  readonly upstreamPath: string;
  readonly transform?: RouteTransform;
}

export interface Runtime {
  readonly config: GatewayConfig;
  readonly table: RouteTable<CompiledRoute>;
  readonly upstreams: ReadonlyMap<string, Upstream>;
  inflight: number;
  retired: boolean;
  close(): void;
}

interface Located {
  entry: PolicyEntry;
  pointer: string;
}

export function buildRuntime(
  config: GatewayConfig,
  registry: ReadonlyMap<string, PolicyDefinition<any>>,
  deps: PolicyDeps,
): Runtime {
  const problems: ConfigProblem[] = [];
  const fail = (pointer: string, message: string) => problems.push({ file: config.file, pointer, message });
  const instances = new Map<PolicyEntry, Handler>();
  const upstreams = new Map<string, Upstream>();
  for (const u of config.upstreams) upstreams.set(u.name, createUpstream(u));

  const instance = (l: Located): Handler | undefined => {
    let h = instances.get(l.entry);
    if (h) return h;
    try {
      h = registry.get(l.entry.policy)!.create(l.entry.config, deps);
    } catch (err) {
      fail(`${l.pointer}/config`, (err as Error).message);
      return undefined;
    }
    instances.set(l.entry, h);
    return h;
  };

  const table = new RouteTable<CompiledRoute>();
  const level = (list: readonly PolicyEntry[], ptr: string): Located[] =>
    list.map((entry, i) => ({ entry, pointer: `${ptr}/${i}` }));
  const globals = level(config.policies, '/policies');

  config.apis.forEach((api, ai) => {
    const apiLevel = level(api.policies, `/apis/${ai}/policies`);
    api.versions.forEach((v, vi) => {
      const vp = `/apis/${ai}/versions/${vi}`;
      const versionLevel = level(v.policies, `${vp}/policies`);
      const contract = config.contracts.get(`${api.name}/${v.name}`);
      const dep = v.deprecation;
      const deprecation: RouteInfo['deprecation'] = dep && {
        deprecatedAt: Date.parse(dep.deprecated),
        sunsetAt: dep.sunset ? Date.parse(dep.sunset) : undefined,
        gone: dep.afterSunset === 'gone',
        headers: {
          // RFC 9745: a structured-field date, seconds since the epoch.
          Deprecation: `@${Math.floor(Date.parse(dep.deprecated) / 1000)}`,
          ...(dep.sunset ? { Sunset: new Date(dep.sunset).toUTCString() } : {}),
          ...(dep.successor ? { Link: `<${dep.successor}>; rel="successor-version"` } : {}),
        },
      };
      v.routes.forEach((r, ri) => {
        const rp = `${vp}/routes/${ri}`;
        const operation = contract?.find(r.method, r.path);
        const info: RouteInfo = {
          id: r.id ?? operation?.operationId ?? `${api.name}.${v.name}.${r.method} ${r.path}`,
          api: api.name,
          version: v.name,
          method: r.method,
          template: r.path,
          operation,
          deprecation,
        };
        // Most specific wins by name; order is kept from the level that first named it.
        const effective = new Map<string, Located>();
        for (const l of [...globals, ...apiLevel, ...versionLevel, ...level(r.policies, `${rp}/policies`)]) {
          effective.set(l.entry.policy, l);
        }
        const chosen = [...effective.values()]
          .filter((l) => l.entry.enabled)
          .map((l) => ({ l, def: registry.get(l.entry.policy)! }))
          .sort((a, b) => PHASES.indexOf(a.def.phase) - PHASES.indexOf(b.def.phase));
        const handlers: Handler[] = [];
        for (const { l, def } of chosen) {
          const refusal = def.checkRoute?.(info, l.entry.config);
          if (refusal) fail(rp, `${def.name}: ${refusal}`);
          const h = instance(l);
          if (h) handlers.push(h);
        }
        const upstream = upstreams.get(v.upstream)!;
        const compiled: CompiledRoute = {
          ...info,
          handlers,
          preCount: chosen.filter((c) => c.def.phase === 'pre').length,
          upstream,
          upstreamPath: v.upstreamPath,
          transform: r.transform ? createRouteTransform(r.transform, config.mappings.get(`${api.name}/${v.name}`) ?? new Map()) : undefined,
        };
        const clash = table.add(v.basePath, r.path === '/' ? '' : r.path, r.method, compiled, v.caseInsensitive);
        if (clash) fail(rp, clash);
      });
    });
  });

  const close = () => {
    for (const u of upstreams.values()) u.close();
  };
  if (problems.length > 0) {
    close();
    throw new ConfigError(problems);
  }
  return { config, table, upstreams, inflight: 0, retired: false, close };
}
