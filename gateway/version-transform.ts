// Serves a public API version from an upstream that speaks another shape, through the
// version's mapping documents (transforms/): request bodies go through a mapping's reverse,
// response bodies (or each item of a list) through the mapping, query values through a mapped
// field's value map, and cursor pagination is turned into the upstream's offsets and back.
// A request the mapping refuses is a 400 with pointers; an upstream response it refuses is a
// 502 GW_UPSTREAM_CONTRACT, logged, never passed on half-mapped.
import { GatewayError, type ProblemFieldError } from '../policies/errors.ts';
import type { CompiledMapping, MappingProblem } from '../transforms/engine.ts';
import type { RouteTransformConfig } from './config.ts';

export interface RouteTransform {
  /** The query string to send upstream. */
  upstreamQuery(rawQuery: string): string;
  /** The upstream body for a request body of this version. */
  request?(body: Buffer): Promise<Buffer>;
  /** This version's body for an upstream JSON body. */
  response?(body: Buffer, status: number): Promise<Buffer>;
}

const encodeCursor = (offset: number) => Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
function decodeCursor(cursor: string): number {
  try {
    const o = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { o?: unknown }).o;
    if (typeof o === 'number' && Number.isInteger(o) && o >= 0) return o;
  } catch {
    // fall through
  }
  throw new GatewayError('GW_VALIDATION_FAILED', { errors: [{ pointer: '/query/cursor', message: 'is not a cursor this API gave out' }] });
}

const toFieldErrors = (problems: readonly MappingProblem[]): ProblemFieldError[] =>
  problems.map((p) => ({ pointer: `/body${p.inputPointer ?? p.pointer ?? ''}`, message: p.message }));

export function createRouteTransform(t: RouteTransformConfig, mappings: ReadonlyMap<string, CompiledMapping>): RouteTransform {
  const req = t.request ? mappings.get(t.request) : undefined;
  const res = t.response ? mappings.get(t.response) : undefined;
  // Query values travel the other way: public value → upstream value.
  const queryMaps = new Map<string, Map<string, string>>();
  for (const [param, field] of Object.entries(t.query ?? {})) {
    const map = res!.document.fields[field]!.map!;
    queryMaps.set(param, new Map(Object.entries(map).map(([up, pub]) => [String(pub), up])));
  }

  const mapOne = async (m: CompiledMapping, value: unknown): Promise<Record<string, unknown>> => {
    const r = await m.apply(value);
    if (!r.ok) throw Object.assign(new Error('response mapping refused'), { problems: r.errors });
    return r.records[0]!;
  };

  return {
    upstreamQuery(rawQuery) {
      if (!t.pagination && queryMaps.size === 0) return rawQuery;
      const q = new URLSearchParams(rawQuery);
      for (const [param, map] of queryMaps) {
        const v = q.get(param);
        if (v !== null) q.set(param, map.get(v) ?? v);
      }
      if (t.pagination === 'cursor') {
        const cursor = q.get('cursor');
        q.delete('cursor');
        if (cursor !== null) q.set('offset', String(decodeCursor(cursor)));
      }
      return q.toString();
    },
    request: req
      ? async (body) => {
          let value: unknown;
          try {
            value = JSON.parse(body.toString('utf8'));
          } catch {
            throw new GatewayError('GW_MALFORMED_JSON');
          }
          const r = req.reverse([value as Record<string, unknown>]);
          if (!r.ok) throw new GatewayError('GW_VALIDATION_FAILED', { errors: toFieldErrors(r.errors) });
          return Buffer.from(JSON.stringify(r.value));
        }
      : undefined,
    response:
      res || t.pagination
        ? async (body) => {
          const value = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
          if (t.pagination !== 'cursor') return Buffer.from(JSON.stringify(await mapOne(res!, value)));
          const items = Array.isArray(value.items) ? value.items : [];
          const data = [];
          for (const item of items) data.push(res ? await mapOne(res, item) : item);
          const offset = Number(value.offset ?? 0);
          const limit = Number(value.limit ?? items.length);
          const total = Number(value.total ?? 0);
          return Buffer.from(JSON.stringify({ data, nextCursor: offset + limit < total ? encodeCursor(offset + limit) : null }));
        }
      : undefined,
  };
}
