// Loads one OpenAPI 3.1 document and compiles, once, a request validator per operation
// (path, query and header parameters; JSON body). The document is checked with swagger-parser;
// components are registered under one id instead of dereferenced, because dereferencing makes
// circular objects that Ajv cannot compile. Errors come back as `{ pointer, message }` in our
// own words, never Ajv's text.
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

export interface FieldError {
  readonly pointer: string;
  readonly message: string;
}

export interface CompiledOperation {
  readonly operationId: string;
  readonly method: string;
  /** The OpenAPI path template, e.g. `/work-orders/{id}`. */
  readonly path: string;
  readonly hasBody: boolean;
  readonly bodyRequired: boolean;
  /** Path, query (as received, without `?`) and header parameters; an empty list when valid. */
  validateParams(input: {
    path: Readonly<Record<string, string>>;
    rawQuery: string;
    headers: IncomingHttpHeaders;
  }): readonly FieldError[];
  validateBody(value: unknown): readonly FieldError[];
  /** Checks a JSON response body against the response declared for `status` (or `default`). */
  validateResponse(status: number, value: unknown): readonly FieldError[];
  /** Whether the document declares a JSON body for this response status. */
  hasResponseSchema(status: number): boolean;
}

export interface Contract {
  readonly file: string;
  readonly title: string;
  readonly version: string;
  readonly document: Readonly<Record<string, unknown>>;
  find(method: string, template: string): CompiledOperation | undefined;
}

export class ContractError extends Error {
  readonly code = 'CONTRACT_INVALID';
  constructor(
    readonly file: string,
    readonly pointer: string,
    message: string,
  ) {
    super(message);
  }
}

const CONTRACT_ID = 'urn:quant:contract';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

type Json = Record<string, unknown>;

function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (node && typeof node === 'object') {
    const out: Json = {};
    for (const [k, v] of Object.entries(node)) {
      if (k.startsWith('x-')) continue; // extensions are documentation, not validation
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
        out[k] = `${CONTRACT_ID}#/$defs/${v.slice('#/components/schemas/'.length)}`;
      } else {
        out[k] = rewriteRefs(v);
      }
    }
    return out;
  }
  return node;
}

function newAjv(coerce: boolean): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    coerceTypes: coerce ? 'array' : false,
    discriminator: true,
    strict: true,
    strictRequired: false,
    strictTypes: false,
    loadSchema: undefined,
  });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addVocabulary(['example', 'xml', 'externalDocs']);
  return ajv;
}

/** Puts an Ajv error into our words; the pointer names where in the request it is. */
export function describeError(e: ErrorObject, base: string): FieldError {
  const p = e.params as Record<string, unknown>;
  let pointer = base + e.instancePath;
  let message: string;
  switch (e.keyword) {
    case 'required':
      pointer += `/${String(p.missingProperty)}`;
      message = 'is required';
      break;
    case 'additionalProperties':
      pointer += `/${String(p.additionalProperty)}`;
      message = 'is not an allowed property';
      break;
    case 'type':
      message = `must be of type ${String(p.type)}`;
      break;
    case 'enum':
      message = `must be one of: ${(p.allowedValues as unknown[]).map(String).join(', ')}`;
      break;
    case 'const':
      message = `must be ${JSON.stringify(p.allowedValue)}`;
      break;
    case 'format':
      message = `must be a valid ${String(p.format)}`;
      break;
    case 'minLength':
      message = `must be at least ${String(p.limit)} characters long`;
      break;
    case 'maxLength':
      message = `must be at most ${String(p.limit)} characters long`;
      break;
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum':
      message = `must be ${String(p.comparison)} ${String(p.limit)}`;
      break;
    case 'minItems':
      message = `must have at least ${String(p.limit)} items`;
      break;
    case 'maxItems':
      message = `must have at most ${String(p.limit)} items`;
      break;
    case 'pattern':
      message = `must match the pattern ${String(p.pattern)}`;
      break;
    case 'uniqueItems':
      message = 'must not contain duplicate items';
      break;
    default:
      message = `does not satisfy "${e.keyword}"`;
  }
  return { pointer: pointer.replace(/~(?![01])/g, '~0'), message };
}

const NO_ERRORS: readonly FieldError[] = Object.freeze([]);

function collect(validate: ValidateFunction, value: unknown, base: string): readonly FieldError[] {
  if (validate(value)) return NO_ERRORS;
  return (validate.errors ?? [])
    .filter((e) => e.keyword !== 'if' && e.keyword !== 'anyOf' && e.keyword !== 'oneOf')
    .map((e) => describeError(e, base));
}

interface ParamDef {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Json;
}

function resolveParam(doc: Json, p: Json, file: string, pointer: string): ParamDef {
  if (typeof p.$ref === 'string') {
    const m = /^#\/components\/parameters\/(.+)$/.exec(p.$ref);
    const target = m && ((doc.components as Json | undefined)?.parameters as Json | undefined)?.[m[1]!];
    if (!target) throw new ContractError(file, pointer, `unresolved parameter reference ${p.$ref}`);
    return target as unknown as ParamDef;
  }
  return p as unknown as ParamDef;
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

export async function loadContract(file: string): Promise<Contract> {
  let doc: Json;
  try {
    const text = readFileSync(file, 'utf8');
    doc = (file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) as Json;
  } catch {
    throw new ContractError(file, '', 'cannot read or parse the OpenAPI document');
  }
  try {
    await SwaggerParser.validate(structuredClone(doc) as never);
  } catch (err) {
    // swagger-parser's messages name the offending part of the document; they go to the
    // operator at start-up, never to an API client.
    throw new ContractError(file, '', `not a valid OpenAPI document: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof doc.openapi !== 'string' || !doc.openapi.startsWith('3.1')) {
    throw new ContractError(file, '/openapi', 'only OpenAPI 3.1 documents are supported');
  }

  const defs = rewriteRefs(((doc.components as Json | undefined)?.schemas as Json | undefined) ?? {}) as Json;
  const bodyAjv = newAjv(false);
  const paramAjv = newAjv(true);
  for (const ajv of [bodyAjv, paramAjv]) ajv.addSchema({ $id: CONTRACT_ID, $defs: defs });

  const ops = new Map<string, CompiledOperation>();
  const paths = (doc.paths ?? {}) as Json;
  for (const [template, itemRaw] of Object.entries(paths)) {
    const item = itemRaw as Json;
    const itemPointer = `/paths/${escapePointer(template)}`;
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const opPointer = `${itemPointer}/${method}`;
      const byKey = new Map<string, ParamDef>();
      const lists: [unknown, string][] = [
        [item.parameters, `${itemPointer}/parameters`],
        [op.parameters, `${opPointer}/parameters`],
      ];
      for (const [list, ptr] of lists) {
        if (!Array.isArray(list)) continue;
        list.forEach((raw, i) => {
          const p = resolveParam(doc, raw as Json, file, `${ptr}/${i}`);
          byKey.set(`${p.in}:${p.in === 'header' ? p.name.toLowerCase() : p.name}`, p);
        });
      }
      const groups: Record<'path' | 'query' | 'header', { properties: Json; required: string[] }> = {
        path: { properties: {}, required: [] },
        query: { properties: {}, required: [] },
        header: { properties: {}, required: [] },
      };
      const arrayQuery = new Set<string>();
      for (const p of byKey.values()) {
        if (p.in === 'cookie') continue;
        const name = p.in === 'header' ? p.name.toLowerCase() : p.name;
        const schema = rewriteRefs(p.schema ?? {}) as Json;
        groups[p.in].properties[name] = schema;
        if (p.required || p.in === 'path') groups[p.in].required.push(name);
        if (p.in === 'query' && schema.type === 'array') arrayQuery.add(name);
      }
      const compileGroup = (g: { properties: Json; required: string[] }) =>
        paramAjv.compile({ type: 'object', properties: g.properties, required: g.required });
      const vPath = compileGroup(groups.path);
      const vQuery = compileGroup(groups.query);
      const vHeader = compileGroup(groups.header);
      const pathNames = Object.keys(groups.path.properties).length;
      const queryNames = Object.keys(groups.query.properties);
      const headerNames = Object.keys(groups.header.properties);

      const body = op.requestBody as Json | undefined;
      const jsonMedia = (body?.content as Json | undefined)?.['application/json'] as Json | undefined;
      let vBody: ValidateFunction | undefined;
      try {
        if (jsonMedia?.schema) vBody = bodyAjv.compile(rewriteRefs(jsonMedia.schema) as Json);
      } catch (err) {
        throw new ContractError(file, `${opPointer}/requestBody`, `schema does not compile: ${(err as Error).message}`);
      }
      const responses = new Map<string, ValidateFunction>();
      const declared = new Set(Object.keys((op.responses ?? {}) as Json));
      for (const [code, raw] of Object.entries((op.responses ?? {}) as Json)) {
        let r = raw as Json;
        if (typeof r.$ref === 'string') {
          const m = /^#\/components\/responses\/(.+)$/.exec(r.$ref);
          r = ((m && ((doc.components as Json | undefined)?.responses as Json | undefined)?.[m[1]!]) ?? {}) as Json;
        }
        const content = (r.content ?? {}) as Json;
        const media = (content['application/json'] ?? content['application/problem+json']) as Json | undefined;
        if (!media?.schema) continue;
        try {
          responses.set(code, bodyAjv.compile(rewriteRefs(media.schema) as Json));
        } catch (err) {
          throw new ContractError(file, `${opPointer}/responses/${code}`, `schema does not compile: ${(err as Error).message}`);
        }
      }
      const responseFor = (status: number) => responses.get(String(status)) ?? responses.get(`${String(status)[0]}XX`) ?? responses.get('default');
      const operationId = typeof op.operationId === 'string' ? op.operationId : `${method} ${template}`;
      const compiled: CompiledOperation = {
        operationId,
        method: method.toUpperCase(),
        path: template,
        hasBody: Boolean(vBody),
        bodyRequired: Boolean(body?.required),
        validateParams({ path, rawQuery, headers }) {
          // A group the operation declares nothing in cannot fail: it is not looked at.
          let errors: readonly FieldError[] | undefined;
          if (pathNames > 0) {
            const e = collect(vPath, { ...path }, '/path');
            if (e.length > 0) errors = e;
          }
          if (queryNames.length > 0) {
            const query = new URLSearchParams(rawQuery);
            const q: Json = {};
            for (const name of queryNames) {
              if (!query.has(name)) continue;
              q[name] = arrayQuery.has(name) ? query.getAll(name) : query.get(name);
            }
            const e = collect(vQuery, q, '/query');
            if (e.length > 0) errors = errors ? [...errors, ...e] : e;
          }
          if (headerNames.length > 0) {
            const h: Json = {};
            for (const name of headerNames) if (headers[name] !== undefined) h[name] = headers[name];
            const e = collect(vHeader, h, '/headers');
            if (e.length > 0) errors = errors ? [...errors, ...e] : e;
          }
          return errors ?? NO_ERRORS;
        },
        validateBody(value) {
          return vBody ? collect(vBody, value, '/body') : [];
        },
        validateResponse(status, value) {
          // A status declared without content (204) has no body to check.
          if (declared.has(String(status)) && !responses.has(String(status))) return [];
          const v = responseFor(status);
          return v ? collect(v, value, '/response') : [{ pointer: '/response', message: `status ${status} is not declared` }];
        },
        hasResponseSchema: (status) => responseFor(status) !== undefined,
      };
      ops.set(`${compiled.method} ${template}`, compiled);
    }
  }
  const info = (doc.info ?? {}) as Json;
  return Object.freeze({
    file,
    title: String(info.title ?? ''),
    version: String(info.version ?? ''),
    document: doc,
    find: (method: string, template: string) => ops.get(`${method.toUpperCase()} ${template}`),
  });
}
