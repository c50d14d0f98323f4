// The breaking-change check: compares an API document with its last released copy and lists,
// in words, every change that can break a client built against the release — a removed
// operation or response status, a removed or retyped response field, a response field no
// longer always present, a new required request field or parameter, a narrowed request enum,
// a widened response enum, a retyped request field. A new major version (info.version) may
// break; within one major, any item fails the check.
//
//   npm run openapi:check       (openapi/<v>.yaml against openapi/released/<v>.yaml)

type Json = Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

export interface BreakingChange {
  where: string;
  change: string;
}

function resolver(doc: Json) {
  const schemas = ((doc.components as Json | undefined)?.schemas ?? {}) as Json;
  const params = ((doc.components as Json | undefined)?.parameters ?? {}) as Json;
  const responses = ((doc.components as Json | undefined)?.responses ?? {}) as Json;
  const deref = (node: unknown): Json => {
    let n = (node ?? {}) as Json;
    for (let i = 0; i < 20 && typeof n.$ref === 'string'; i++) {
      const ref = n.$ref as string;
      const [, kind, name] = /^#\/components\/(schemas|parameters|responses)\/(.+)$/.exec(ref) ?? [];
      n = ((kind === 'schemas' ? schemas : kind === 'parameters' ? params : responses)[name ?? ''] ?? {}) as Json;
    }
    // allOf: merged so properties and required of every part count.
    if (Array.isArray(n.allOf)) {
      const merged: Json = { ...n, properties: { ...((n.properties as Json) ?? {}) }, required: [...((n.required as string[]) ?? [])] };
      delete merged.allOf;
      for (const part of n.allOf) {
        const p = deref(part);
        Object.assign(merged.properties as Json, p.properties ?? {});
        (merged.required as string[]).push(...((p.required as string[]) ?? []));
        if (p.type && !merged.type) merged.type = p.type;
      }
      return merged;
    }
    return n;
  };
  return deref;
}

const typesOf = (s: Json): string[] => (Array.isArray(s.type) ? (s.type as string[]) : s.type ? [s.type as string] : []);

function compareSchema(oldS: Json, newS: Json, where: string, dir: 'request' | 'response', ro: (n: unknown) => Json, rn: (n: unknown) => Json, out: BreakingChange[], seen: Set<string>) {
  const key = `${where}|${dir}`;
  if (seen.has(key)) return;
  seen.add(key);
  const o = ro(oldS);
  const n = rn(newS);
  const ot = typesOf(o);
  const nt = typesOf(n);
  if (ot.length > 0 && nt.length > 0) {
    const lost = ot.filter((t) => !nt.includes(t) && !(t === 'integer' && nt.includes('number')));
    const gained = nt.filter((t) => !ot.includes(t) && !(t === 'integer' && ot.includes('number')));
    if (dir === 'response' && gained.length > 0) out.push({ where, change: `response type changed from ${ot.join('|')} to ${nt.join('|')}` });
    if (dir === 'request' && lost.length > 0) out.push({ where, change: `request type changed from ${ot.join('|')} to ${nt.join('|')}` });
  }
  if (Array.isArray(o.enum) || Array.isArray(n.enum)) {
    const oe = (o.enum as unknown[] | undefined) ?? [];
    const ne = (n.enum as unknown[] | undefined) ?? [];
    if (dir === 'request') {
      const removed = oe.filter((v) => !ne.includes(v));
      if (Array.isArray(n.enum) && (removed.length > 0 || !Array.isArray(o.enum))) out.push({ where, change: `request enum narrowed: ${removed.length ? `${removed.map(String).join(', ')} no longer accepted` : 'values now restricted'}` });
    } else {
      const added = ne.filter((v) => !oe.includes(v));
      if (Array.isArray(o.enum) && (added.length > 0 || !Array.isArray(n.enum))) out.push({ where, change: `response enum widened: ${added.length ? `${added.map(String).join(', ')} may now be returned` : 'any value may now be returned'}` });
    }
  }
  const op = (o.properties ?? {}) as Json;
  const np = (n.properties ?? {}) as Json;
  const oreq = new Set((o.required as string[] | undefined) ?? []);
  const nreq = new Set((n.required as string[] | undefined) ?? []);
  if (dir === 'response') {
    for (const name of Object.keys(op)) {
      if (!(name in np)) out.push({ where: `${where}/${name}`, change: 'response field removed' });
      else if (oreq.has(name) && !nreq.has(name)) out.push({ where: `${where}/${name}`, change: 'response field no longer always present' });
    }
  } else {
    for (const name of nreq) if (!oreq.has(name)) out.push({ where: `${where}/${name}`, change: 'new required request field' });
  }
  for (const name of Object.keys(op)) {
    if (name in np) compareSchema(op[name] as Json, np[name] as Json, `${where}/${name}`, dir, ro, rn, out, seen);
  }
  if (o.items && n.items) compareSchema(o.items as Json, n.items as Json, `${where}/items`, dir, ro, rn, out, seen);
}

function params(item: Json, op: Json, r: (n: unknown) => Json): Map<string, Json> {
  const m = new Map<string, Json>();
  for (const list of [item.parameters, op.parameters]) {
    if (!Array.isArray(list)) continue;
    for (const p of list) {
      const d = r(p);
      m.set(`${String(d.in)}:${String(d.name)}`, d);
    }
  }
  return m;
}

export function findBreakingChanges(released: Json, current: Json): { majorChanged: boolean; changes: BreakingChange[] } {
  const major = (d: Json) => String((d.info as Json | undefined)?.version ?? '').split('.')[0];
  const ro = resolver(released);
  const rn = resolver(current);
  const out: BreakingChange[] = [];
  const op = (released.paths ?? {}) as Json;
  const np = (current.paths ?? {}) as Json;
  for (const [path, oItemRaw] of Object.entries(op)) {
    const oItem = oItemRaw as Json;
    const nItem = np[path] as Json | undefined;
    for (const method of METHODS) {
      const o = oItem[method] as Json | undefined;
      if (!o) continue;
      const where = `${method.toUpperCase()} ${path}`;
      const n = nItem?.[method] as Json | undefined;
      if (!n) {
        out.push({ where, change: 'operation removed' });
        continue;
      }
      const opar = params(oItem, o, ro);
      const npar = params(nItem!, n, rn);
      for (const [k, p] of npar) {
        if (p.required === true && opar.get(k)?.required !== true) out.push({ where: `${where} ${k}`, change: 'new required parameter' });
        const before = opar.get(k);
        if (before) compareSchema((before.schema ?? {}) as Json, (p.schema ?? {}) as Json, `${where} ${k}`, 'request', ro, rn, out, new Set());
      }
      const ob = ro(o.requestBody);
      const nb = rn(n.requestBody);
      const obs = ((ob.content as Json | undefined)?.['application/json'] as Json | undefined)?.schema as Json | undefined;
      const nbs = ((nb.content as Json | undefined)?.['application/json'] as Json | undefined)?.schema as Json | undefined;
      if (nb.required === true && ob.required !== true) out.push({ where: `${where} body`, change: 'request body now required' });
      if (obs && nbs) compareSchema(obs, nbs, `${where} body`, 'request', ro, rn, out, new Set());
      const oresp = (o.responses ?? {}) as Json;
      const nresp = (n.responses ?? {}) as Json;
      for (const [code, rOld] of Object.entries(oresp)) {
        const rNew = nresp[code];
        if (!rNew) {
          if (code.startsWith('2')) out.push({ where: `${where} ${code}`, change: 'response status removed' });
          continue;
        }
        const pick = (r: Json) => {
          const c = (r.content ?? {}) as Json;
          return ((c['application/json'] ?? c['application/problem+json']) as Json | undefined)?.schema as Json | undefined;
        };
        const os = pick(ro(rOld));
        const ns = pick(rn(rNew));
        if (os && ns) compareSchema(os, ns, `${where} ${code}`, 'response', ro, rn, out, new Set());
        else if (os && !ns) out.push({ where: `${where} ${code}`, change: 'response body removed' });
      }
    }
  }
  return { majorChanged: major(released) !== major(current), changes: out };
}

export function report(name: string, r: { majorChanged: boolean; changes: BreakingChange[] }): string {
  if (r.changes.length === 0) return `${name}: no breaking changes`;
  const head = r.majorChanged ? `${name}: ${r.changes.length} breaking change(s), allowed by the new major version` : `${name}: ${r.changes.length} breaking change(s) within the same major version`;
  return [head, ...r.changes.map((c) => `  - ${c.where}: ${c.change}`)].join('\n');
}
