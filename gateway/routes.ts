// Path normalization and the route table. A request path is decoded and resolved once
// (`//`, `/./`, `..`, `%2e%2e`, `;params`, trailing slash); an encoded `/`, `\` or NUL, bad
// percent-encoding, or a `..` that climbs above the root is refused. The route is matched on
// the normalized segments, and exactly those segments are forwarded, so what was checked is
// what the upstream receives.

export type Normalized = { ok: true; segments: string[] } | { ok: false; reason: string };

const SAFE_SEGMENT = /^[A-Za-z0-9._~!$&'()*+,=:@-]*$/;

export function normalizePath(raw: string): Normalized {
  if (raw.length === 0 || raw[0] !== '/') return { ok: false, reason: 'path must start with /' };
  if (raw.length > 4096) return { ok: false, reason: 'path too long' };
  const out: string[] = [];
  for (const part of raw.split('/')) {
    const semi = part.indexOf(';');
    const bare = semi === -1 ? part : part.slice(0, semi);
    let seg: string;
    if (bare.includes('%')) {
      try {
        seg = decodeURIComponent(bare);
      } catch {
        return { ok: false, reason: 'invalid percent-encoding' };
      }
    } else {
      seg = bare;
    }
    if (/[/\\\u0000-\u001f\u007f]/.test(seg)) return { ok: false, reason: 'encoded separator or control character' };
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return { ok: false, reason: 'path escapes the root' };
      out.pop();
      continue;
    }
    out.push(seg);
  }
  return { ok: true, segments: out };
}

/** Encodes a decoded segment for forwarding; common characters stay as they are. */
export function encodeSegment(seg: string): string {
  return SAFE_SEGMENT.test(seg) ? seg : encodeURIComponent(seg);
}

interface Node<R> {
  literal: Map<string, Node<R>>;
  param?: { name: string; node: Node<R> };
  entry?: { methods: Map<string, R>; paramNames: string[]; baseSegments: number };
  caseInsensitive: boolean;
}

const newNode = <R>(ci = false): Node<R> => ({ literal: new Map(), caseInsensitive: ci });

export interface Match<R> {
  readonly methods: ReadonlyMap<string, R>;
  readonly params: Record<string, string>;
  readonly baseSegments: number;
}

/** A trie over path segments: literals before parameters, one entry per template. */
export class RouteTable<R> {
  private readonly root = newNode<R>();

  /** Adds a route; returns an error message when it clashes with one already there. */
  add(basePath: string, template: string, method: string, route: R, caseInsensitive: boolean): string | undefined {
    const base = basePath.split('/').filter(Boolean);
    const rest = template.split('/').filter(Boolean);
    let node = this.root;
    const paramNames: string[] = [];
    for (const [i, seg] of [...base, ...rest].entries()) {
      const ci = caseInsensitive;
      if (seg.startsWith('{') && seg.endsWith('}')) {
        const name = seg.slice(1, -1);
        if (!node.param) node.param = { name, node: newNode(ci) };
        else if (node.param.name !== name) {
          return `parameter {${name}} clashes with {${node.param.name}} at the same position`;
        }
        paramNames.push(name);
        node = node.param.node;
      } else {
        const key = ci ? seg.toLowerCase() : seg;
        let next = node.literal.get(key);
        if (!next) {
          next = newNode(ci);
          node.literal.set(key, next);
        }
        if (i < base.length) next.caseInsensitive = ci;
        node = next;
      }
    }
    node.caseInsensitive = caseInsensitive;
    if (!node.entry) node.entry = { methods: new Map(), paramNames, baseSegments: base.length };
    if (node.entry.methods.has(method)) return `${method} ${basePath}${template} is declared twice`;
    node.entry.methods.set(method, route);
    return undefined;
  }

  match(segments: readonly string[]): Match<R> | undefined {
    const values: string[] = [];
    const found = this.walk(this.root, segments, 0, values);
    if (!found?.entry) return undefined;
    const params: Record<string, string> = {};
    found.entry.paramNames.forEach((n, i) => (params[n] = values[i]!));
    return { methods: found.entry.methods, params, baseSegments: found.entry.baseSegments };
  }

  private walk(node: Node<R>, segs: readonly string[], i: number, values: string[]): Node<R> | undefined {
    if (i === segs.length) return node.entry ? node : undefined;
    const seg = segs[i]!;
    const lit = node.literal.get(seg) ?? (node.literal.size > 0 ? node.literal.get(seg.toLowerCase()) : undefined);
    if (lit && (lit.caseInsensitive || node.literal.get(seg) === lit)) {
      const r = this.walk(lit, segs, i + 1, values);
      if (r) return r;
    }
    if (node.param) {
      values.push(seg);
      const r = this.walk(node.param.node, segs, i + 1, values);
      if (r) return r;
      values.pop();
    }
    return undefined;
  }
}
