// The mapping engine. A mapping document (YAML or JSON, schema in mapping-schema.ts) says how a
// canonical record becomes target objects; it is compiled once, at load: paths become direct
// property reads, value maps become lookups, JSONata expressions are compiled, the target's JSON
// Schema is compiled. A reverse mapping (target → canonical) is derived from the same document
// for every field that can be undone. Applying a mapping never truncates or drops silently: a
// record that fails is refused with every reason, each with a pointer into the output, the input
// and the mapping.
//
// Errors at load: XFORM_MAPPING_INVALID (schema), XFORM_EXPRESSION_INVALID (JSONata),
// XFORM_MAP_NOT_REVERSIBLE. Errors of a record: XFORM_REQUIRED, XFORM_COERCION, XFORM_LOOKUP,
// XFORM_OUTPUT_INVALID, XFORM_EXPRESSION_FAILED.
import jsonata from 'jsonata';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { CoercionError, forward, reverse as reverseCoercion, type Coerce, type CoercionName, type CoercionOptions } from './coerce.ts';
import { MAPPING_SCHEMA } from './mapping-schema.ts';

/** Every code a mapping load or a record can fail with (docs/errors.md lists the same). */
export const XFORM_CODES = [
  'XFORM_MAPPING_INVALID',
  'XFORM_EXPRESSION_INVALID',
  'XFORM_MAP_NOT_REVERSIBLE',
  'XFORM_REQUIRED',
  'XFORM_COERCION',
  'XFORM_LOOKUP',
  'XFORM_OUTPUT_INVALID',
  'XFORM_EXPRESSION_FAILED',
] as const;
export type XformCode = (typeof XFORM_CODES)[number];

export interface FieldSpec {
  path?: string;
  expr?: string;
  const?: unknown;
  lookup?: { type: string; path: string };
  /** The product of these source values; a money value times numbers stays money (rounded to a minor unit). */
  product?: string[];
  fields?: Record<string, FieldSpec>;
  each?: string;
  map?: Record<string, unknown>;
  reverseMap?: Record<string, unknown>;
  default?: unknown;
  required?: boolean;
  type?: CoercionName;
  zone?: string;
  country?: string;
  currency?: string;
  when?: string;
  truncate?: number;
  reverse?: boolean;
}

export interface MappingDocument {
  name: string;
  description?: string;
  source: string;
  target: { system: string; object: string };
  /** Emit one target record per element of this array of the source. */
  records?: string;
  fields: Record<string, FieldSpec>;
}

export interface MappingProblem {
  code: XformCode;
  message: string;
  /** Where in the output (target record), when it applies. */
  pointer?: string;
  /** Where in the input. */
  inputPointer?: string;
  /** Where in the mapping document. */
  mappingPointer?: string;
  /** Which emitted record, for `records` mappings. */
  record?: number;
}

export class MappingLoadError extends Error {
  constructor(
    readonly file: string,
    readonly problems: MappingProblem[],
  ) {
    super(`${file}: ${problems.map((p) => `${p.mappingPointer ?? ''} ${p.message}`).join('; ')}`);
  }
}

/** How a mapping reaches the hub's id map. */
export interface IdMap {
  /** The target system's id of a Quant record, or undefined. */
  externalId(system: string, type: string, quantId: string): string | undefined;
  /** The Quant id of a target system's record, or undefined. */
  quantId(system: string, type: string, externalId: string): string | undefined;
}

export type Result = { ok: true; records: Record<string, unknown>[] } | { ok: false; records: Record<string, unknown>[]; errors: MappingProblem[] };

export interface CompiledMapping {
  readonly document: Readonly<MappingDocument>;
  readonly name: string;
  /** True when some field uses JSONata, whose evaluation is asynchronous. */
  readonly async: boolean;
  apply(input: unknown, ids?: IdMap): Result | Promise<Result>;
  /** Target records → canonical (partial: what the mapping carries back). */
  reverse(records: readonly Record<string, unknown>[], ids?: IdMap): { ok: boolean; value: Record<string, unknown>; errors: MappingProblem[] };
}

const NO_IDS: IdMap = { externalId: () => undefined, quantId: () => undefined };

// ---- paths: compiled to direct property reads ----

type Getter = (o: unknown) => unknown;

function segmentsOf(path: string): string[] {
  return path.split('.').filter(Boolean);
}

/** Reads `a.b.c` with one closure per length, no per-record parsing. */
export function compileGetter(path: string): Getter {
  const s = segmentsOf(path);
  const at = (o: unknown, k: string) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined);
  switch (s.length) {
    case 0:
      return (o) => o;
    case 1: {
      const [a] = s as [string];
      return (o) => at(o, a);
    }
    case 2: {
      const [a, b] = s as [string, string];
      return (o) => at(at(o, a), b);
    }
    case 3: {
      const [a, b, c] = s as [string, string, string];
      return (o) => at(at(at(o, a), b), c);
    }
    default:
      return (o) => s.reduce<unknown>(at, o);
  }
}

function setPath(target: Record<string, unknown>, segments: readonly string[], value: unknown) {
  let o = target;
  for (let i = 0; i < segments.length - 1; i++) {
    const k = segments[i]!;
    if (o[k] === undefined || o[k] === null || typeof o[k] !== 'object') o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[segments[segments.length - 1]!] = value;
}

const pointerOf = (segments: readonly (string | number)[]) => segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
const esc = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** A JSON pointer kept as a chain and only turned into text when an error needs it. */
type Ptr = { readonly up: Ptr; readonly seg: string; readonly i?: number } | undefined;
function render(p: Ptr): string {
  const parts: string[] = [];
  for (let q = p; q; q = q.up) parts.push(q.i === undefined ? q.seg : `${q.seg}/${q.i}`);
  return parts.reverse().join('');
}

// ---- compiled fields ----

interface Scope {
  root: unknown;
  item: unknown;
  itemPtr: Ptr;
}

/** A list element's scope is also its own input pointer: one allocation per element. */
function elementScope(root: unknown, item: unknown, up: Ptr, seg: string, i: number): Scope {
  const sc = { root, item, itemPtr: undefined as Ptr, up, seg, i };
  sc.itemPtr = sc;
  return sc;
}

interface Ctx {
  ids: IdMap;
  errors: MappingProblem[];
  pending: Promise<void>[];
  record: number;
}

type Emit = (scope: Scope, out: Record<string, unknown>, ctx: Ctx, outPtr: Ptr) => void;

interface Reverser {
  (record: unknown, canonical: Record<string, unknown>, ids: IdMap, errors: MappingProblem[]): void;
}

interface CompileEnv {
  file: string;
  system: string;
  problems: MappingProblem[];
  async: boolean;
}

/** A path relative to the current item, or to the root with `$.`. */
function sourceOf(path: string): { fromRoot: boolean; get: Getter; segments: string[]; seg: string } {
  const fromRoot = path.startsWith('$.');
  const p = fromRoot ? path.slice(2) : path;
  const segments = segmentsOf(p);
  return { fromRoot, get: compileGetter(p), segments, seg: pointerOf(segments) };
}

/** Where a source value was read, as a lazy pointer. */
const inputAt = (src: { fromRoot: boolean; seg: string }, scope: Scope): Ptr => ({ up: src.fromRoot ? undefined : scope.itemPtr, seg: src.seg });

function compileFields(fields: Record<string, FieldSpec>, env: CompileEnv, mapPtr: string): { emit: Emit; reversers: Reverser[] } {
  const emits: Emit[] = [];
  const reversers: Reverser[] = [];
  for (const [name, spec] of Object.entries(fields)) {
    const c = compileField(name, spec, env, `${mapPtr}/${esc(name)}`);
    emits.push(c.emit);
    if (c.reverse) reversers.push(c.reverse);
  }
  return {
    emit: (scope, out, ctx, outPtr) => {
      for (const e of emits) e(scope, out, ctx, outPtr);
    },
    reversers,
  };
}

function compileField(name: string, spec: FieldSpec, env: CompileEnv, mapPtr: string): { emit: Emit; reverse?: Reverser } {
  const coerceOpts: CoercionOptions = { zone: spec.zone, country: spec.country, currency: spec.currency };
  const coerce: Coerce | undefined = spec.type ? forward(spec.type, coerceOpts) : undefined;
  const map = spec.map;
  let when: ReturnType<typeof jsonata> | undefined;
  let expr: ReturnType<typeof jsonata> | undefined;
  try {
    if (spec.when) when = jsonata(spec.when);
  } catch (err) {
    env.problems.push({ code: 'XFORM_EXPRESSION_INVALID', message: `when: ${(err as Error).message}`, mappingPointer: `${mapPtr}/when` });
  }
  try {
    if (spec.expr) expr = jsonata(spec.expr);
  } catch (err) {
    env.problems.push({ code: 'XFORM_EXPRESSION_INVALID', message: `expr: ${(err as Error).message}`, mappingPointer: `${mapPtr}/expr` });
  }
  if (when || expr) env.async = true;

  // Nested object and array fields.
  let nested: ReturnType<typeof compileFields> | undefined;
  if (spec.fields) nested = compileFields(spec.fields, env, `${mapPtr}/fields`);
  const each = spec.each ? sourceOf(spec.each) : undefined;
  const src = spec.path ? sourceOf(spec.path) : undefined;
  const lookupSrc = spec.lookup ? sourceOf(spec.lookup.path) : undefined;
  const factors = spec.product?.map(sourceOf);

  const nameSeg = `/${esc(name)}`;
  // Pointers are built only here, when an error is reported: the happy path allocates none.
  type From = { fromRoot: boolean; seg: string };
  const err = (ctx: Ctx, code: XformCode, message: string, outPtr: Ptr, mappingPointer: string, scope?: Scope, from?: From) =>
    void ctx.errors.push({
      code,
      message,
      pointer: render({ up: outPtr, seg: nameSeg }),
      ...(scope && from ? { inputPointer: render(inputAt(from, scope)) } : {}),
      mappingPointer,
      record: ctx.record,
    });
  // Read once here: spec objects come from YAML with many shapes, and per-record reads of them
  // would go megamorphic.
  const dflt = spec.default;
  const required = spec.required === true;
  const truncate = spec.truncate;
  const finish = (raw: unknown, out: Record<string, unknown>, ctx: Ctx, outPtr: Ptr, scope?: Scope, from?: From) => {
    let v = raw;
    if (map !== undefined && v !== undefined && v !== null) {
      const key = String(v);
      if (!(key in map)) return err(ctx, 'XFORM_COERCION', `has no mapped value for "${key}"`, outPtr, `${mapPtr}/map`, scope, from);
      v = map[key];
    }
    if (v === undefined || v === null) {
      if (dflt === undefined) {
        if (required) err(ctx, 'XFORM_REQUIRED', 'is required but the source has no value', outPtr, mapPtr, scope, from);
        return;
      }
      v = dflt;
    }
    if (coerce !== undefined) {
      try {
        v = coerce(v);
      } catch (e) {
        if (!(e instanceof CoercionError)) throw e;
        return err(ctx, 'XFORM_COERCION', e.message, outPtr, `${mapPtr}/type`, scope, from);
      }
    }
    if (truncate !== undefined && typeof v === 'string' && v.length > truncate) v = v.slice(0, truncate);
    out[name] = v;
  };

  let produce: Emit;
  if (each) {
    const item = nested!;
    produce = (scope, out, ctx, outPtr) => {
      const arr = each.get(each.fromRoot ? scope.root : scope.item);
      if (arr === undefined || arr === null) return finish(undefined, out, ctx, outPtr);
      if (!Array.isArray(arr)) return err(ctx, 'XFORM_COERCION', 'the source is not a list', outPtr, `${mapPtr}/each`, scope, each);
      const list: Record<string, unknown>[] = new Array(arr.length);
      const inBase = inputAt(each, scope);
      for (let i = 0; i < arr.length; i++) {
        const o: Record<string, unknown> = {};
        item.emit(elementScope(scope.root, arr[i], inBase, '', i), o, ctx, { up: outPtr, seg: nameSeg, i });
        list[i] = o;
      }
      finish(list.length > 0 ? list : undefined, out, ctx, outPtr);
    };
  } else if (nested) {
    const present = (o: Record<string, unknown>) => {
      for (const _ in o) return o;
      return undefined;
    };
    produce = (scope, out, ctx, outPtr) => {
      const o: Record<string, unknown> = {};
      const before = ctx.pending.length;
      nested!.emit(scope, o, ctx, { up: outPtr, seg: nameSeg });
      if (ctx.pending.length === before) return finish(present(o), out, ctx, outPtr);
      // Some child is an expression: decide on the object once the children have settled.
      const children = ctx.pending.splice(before);
      ctx.pending.push(Promise.all(children).then(() => finish(present(o), out, ctx, outPtr)));
    };
  } else if (lookupSrc) {
    const type = spec.lookup!.type;
    produce = (scope, out, ctx, outPtr) => {
      const key = lookupSrc.get(lookupSrc.fromRoot ? scope.root : scope.item);
      if (key === undefined || key === null) return finish(undefined, out, ctx, outPtr, scope, lookupSrc);
      const ext = ctx.ids.externalId(env.system, type, String(key));
      if (ext === undefined) return err(ctx, 'XFORM_LOOKUP', `no ${env.system} id is known for ${type} ${String(key)}`, outPtr, `${mapPtr}/lookup`, scope, lookupSrc);
      finish(ext, out, ctx, outPtr);
    };
  } else if (expr) {
    const e = expr;
    produce = (scope, out, ctx, outPtr) => {
      ctx.pending.push(
        e.evaluate(scope.item, { root: scope.root }).then(
          (v: unknown) => finish(v, out, ctx, outPtr),
          () => err(ctx, 'XFORM_EXPRESSION_FAILED', 'the expression failed on this record', outPtr, `${mapPtr}/expr`),
        ),
      );
    };
  } else if (factors) {
    produce = (scope, out, ctx, outPtr) => {
      let n = 1;
      let currency: string | undefined;
      for (const f of factors) {
        const v = f.get(f.fromRoot ? scope.root : scope.item);
        if (typeof v === 'number') n *= v;
        else if (v && typeof v === 'object' && typeof (v as { amount?: unknown }).amount === 'number' && currency === undefined) {
          n *= (v as { amount: number }).amount;
          currency = String((v as { currency?: unknown }).currency);
        } else return finish(undefined, out, ctx, outPtr, scope, f);
      }
      finish(currency === undefined ? n : { amount: Math.round(n), currency }, out, ctx, outPtr);
    };
  } else if ('const' in spec) {
    const value = spec.const;
    produce = (_scope, out, ctx, outPtr) => finish(value, out, ctx, outPtr);
  } else if (src) {
    const get = src.get;
    if (src.fromRoot) produce = (scope, out, ctx, outPtr) => finish(get(scope.root), out, ctx, outPtr, scope, src);
    else produce = (scope, out, ctx, outPtr) => finish(get(scope.item), out, ctx, outPtr, scope, src);
  } else {
    env.problems.push({ code: 'XFORM_MAPPING_INVALID', message: 'a field needs path, expr, const, lookup, fields or each', mappingPointer: mapPtr });
    produce = () => undefined;
  }

  let emit = produce;
  if (when) {
    const w = when;
    emit = (scope, out, ctx, outPtr) => {
      ctx.pending.push(
        w.evaluate(scope.item, { root: scope.root }).then(
          (ok: unknown) => {
            if (ok !== true) return;
            const before = ctx.pending.length;
            produce(scope, out, ctx, outPtr);
            return Promise.all(ctx.pending.splice(before)).then(() => undefined);
          },
          () => err(ctx, 'XFORM_EXPRESSION_FAILED', 'the condition failed on this record', outPtr, `${mapPtr}/when`),
        ),
      );
    };
  }

  return { emit, reverse: spec.reverse === false ? undefined : compileReverse(name, spec, env, mapPtr, nested, each, src, lookupSrc) };
}

/** target value → canonical, for fields that can be undone. */
function compileReverse(
  name: string,
  spec: FieldSpec,
  env: CompileEnv,
  mapPtr: string,
  nested: ReturnType<typeof compileFields> | undefined,
  each: ReturnType<typeof sourceOf> | undefined,
  src: ReturnType<typeof sourceOf> | undefined,
  lookupSrc: ReturnType<typeof sourceOf> | undefined,
): Reverser | undefined {
  let inverse: Map<string, unknown> | undefined;
  if (spec.map) {
    inverse = new Map();
    const explicit = spec.reverseMap ?? {};
    for (const [k, v] of Object.entries(spec.map)) {
      const key = String(v);
      if (inverse.has(key) && !(key in explicit)) {
        env.problems.push({ code: 'XFORM_MAP_NOT_REVERSIBLE', message: `two values map to "${key}": give reverseMap or reverse: false`, mappingPointer: `${mapPtr}/map` });
      }
      inverse.set(key, k);
    }
    for (const [k, v] of Object.entries(explicit)) inverse.set(k, v);
  }
  const undo = spec.type ? reverseCoercion(spec.type, { zone: spec.zone, country: spec.country, currency: spec.currency }) : (v: unknown) => v;
  if (!undo) return undefined;
  const value = (raw: unknown) => {
    let v = raw;
    if (inverse && v !== undefined && v !== null) v = inverse.get(String(v));
    return v === undefined || v === null ? undefined : undo(v);
  };

  if (each && nested) {
    if (each.fromRoot) return undefined;
    return (record, canonical, ids, errors) => {
      const arr = (record as Record<string, unknown>)?.[name];
      if (!Array.isArray(arr)) return;
      const items = arr.map((el) => {
        const o: Record<string, unknown> = {};
        for (const r of nested.reversers) r(el, o, ids, errors);
        return o;
      });
      setPath(canonical, each.segments, items);
    };
  }
  if (nested) {
    return (record, canonical, ids, errors) => {
      const v = (record as Record<string, unknown>)?.[name];
      if (v && typeof v === 'object') for (const r of nested.reversers) r(v, canonical, ids, errors);
    };
  }
  if (lookupSrc && !lookupSrc.fromRoot) {
    const type = spec.lookup!.type;
    return (record, canonical, ids, errors) => {
      const v = (record as Record<string, unknown>)?.[name];
      if (v === undefined || v === null) return;
      const q = ids.quantId(env.system, type, String(v));
      if (q === undefined) errors.push({ code: 'XFORM_LOOKUP', message: `no Quant ${type} is known for ${env.system} id ${String(v)}`, pointer: `/${esc(name)}`, mappingPointer: `${mapPtr}/lookup` });
      else setPath(canonical, lookupSrc.segments, q);
    };
  }
  if (src && !src.fromRoot && spec.expr === undefined && spec.product === undefined && !('const' in spec)) {
    return (record, canonical, _ids, errors) => {
      const raw = (record as Record<string, unknown>)?.[name];
      try {
        const v = value(raw);
        if (v !== undefined) setPath(canonical, src.segments, v);
      } catch (err) {
        if (!(err instanceof CoercionError)) throw err;
        errors.push({ code: 'XFORM_COERCION', message: err.message, pointer: `/${esc(name)}`, mappingPointer: `${mapPtr}/type` });
      }
    };
  }
  return undefined;
}

// ---- the mapping ----

export interface CompileOptions {
  file: string;
  /** The target object's JSON Schema (output validation). */
  schema?: Record<string, unknown>;
}

const docAjv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
const validateDoc = docAjv.compile(MAPPING_SCHEMA);
const outAjv = new Ajv2020({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(outAjv);
const schemaCache = new WeakMap<object, ValidateFunction>();

export function compileMapping(doc: unknown, opts: CompileOptions): CompiledMapping {
  if (!validateDoc(doc)) {
    throw new MappingLoadError(
      opts.file,
      (validateDoc.errors ?? []).map((e) => ({
        code: 'XFORM_MAPPING_INVALID',
        message: e.keyword === 'additionalProperties' ? `"${String(e.params.additionalProperty)}" is not a mapping keyword` : (e.message ?? 'is invalid'),
        mappingPointer: e.instancePath + (e.keyword === 'required' ? `/${String(e.params.missingProperty)}` : ''),
      })),
    );
  }
  const d = doc as MappingDocument;
  const env: CompileEnv = { file: opts.file, system: d.target.system, problems: [], async: false };
  const compiled = compileFields(d.fields, env, '/fields');
  const records = d.records ? sourceOf(d.records) : undefined;
  let validateOut: ValidateFunction | undefined;
  if (opts.schema) {
    validateOut = schemaCache.get(opts.schema);
    if (!validateOut) {
      try {
        validateOut = outAjv.compile(opts.schema);
      } catch (err) {
        env.problems.push({ code: 'XFORM_MAPPING_INVALID', message: `target schema does not compile: ${(err as Error).message}` });
      }
      if (validateOut) schemaCache.set(opts.schema, validateOut);
    }
  }
  if (env.problems.length > 0) throw new MappingLoadError(opts.file, env.problems);

  const check = (records: Record<string, unknown>[], errors: MappingProblem[]) => {
    if (!validateOut) return;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (validateOut(r)) continue;
      for (const e of validateOut.errors ?? []) {
        const p = e.params as Record<string, unknown>;
        const pointer = e.instancePath + (e.keyword === 'required' ? `/${String(p.missingProperty)}` : '');
        const message =
          e.keyword === 'maxLength'
            ? `is longer than the ${d.target.object} field allows (${String(p.limit)}); set truncate in the mapping to cut it`
            : e.keyword === 'required'
              ? `is required by ${d.target.object}`
              : `does not satisfy the ${d.target.object} schema (${e.keyword})`;
        errors.push({ code: 'XFORM_OUTPUT_INVALID', message, pointer, record: i, mappingPointer: `/fields${pointer.split('/').slice(0, 2).join('/')}` });
      }
    }
  };

  const run = (input: unknown, ids: IdMap): { out: Record<string, unknown>[]; ctx: Ctx } => {
    const ctx: Ctx = { ids, errors: [], pending: [], record: 0 };
    const out: Record<string, unknown>[] = [];
    if (records) {
      const list = records.get(input);
      if (Array.isArray(list)) {
        for (let i = 0; i < list.length; i++) {
          ctx.record = i;
          const o: Record<string, unknown> = {};
          compiled.emit(elementScope(input, list[i], undefined, records.seg, i), o, ctx, undefined);
          out.push(o);
        }
      }
    } else {
      const o: Record<string, unknown> = {};
      compiled.emit({ root: input, item: input, itemPtr: undefined }, o, ctx, undefined);
      out.push(o);
    }
    return { out, ctx };
  };
  const finish = (out: Record<string, unknown>[], errors: MappingProblem[]): Result => {
    check(out, errors);
    return errors.length > 0 ? { ok: false, records: out, errors } : { ok: true, records: out };
  };

  return Object.freeze({
    document: d,
    name: d.name,
    async: env.async,
    apply(input: unknown, ids: IdMap = NO_IDS): Result | Promise<Result> {
      const { out, ctx } = run(input, ids);
      if (ctx.pending.length === 0) return finish(out, ctx.errors);
      // Expressions and conditions settle in rounds (a condition may start an expression).
      const settle = async (): Promise<Result> => {
        while (ctx.pending.length > 0) {
          const batch = ctx.pending.splice(0);
          await Promise.all(batch);
        }
        return finish(out, ctx.errors);
      };
      return settle();
    },
    reverse(recs: readonly Record<string, unknown>[], ids: IdMap = NO_IDS) {
      const errors: MappingProblem[] = [];
      const value: Record<string, unknown> = {};
      if (records) {
        const items = recs.map((r) => {
          const o: Record<string, unknown> = {};
          for (const rv of compiled.reversers) rv(r, o, ids, errors);
          return o;
        });
        setPath(value, records.segments, items);
      } else if (recs[0]) {
        for (const rv of compiled.reversers) rv(recs[0], value, ids, errors);
      }
      return { ok: errors.length === 0, value, errors };
    },
  });
}
