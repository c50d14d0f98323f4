// Loads mapping documents (YAML or JSON), applies tenant overlays, and compiles each once.
// A shipped mapping lives at transforms/mappings/<system>/<name>.yaml with its target schema at
// transforms/schemas/<system>/<Object>.json. An overlay changes a shipped mapping without copying
// it:
//
//   overlay: salesforce.account          # the mapping it changes
//   fields:
//     Quant_Region__c: { path: billingAddress.region }   # added (custom fields match __c)
//     Phone: null                                         # removed
//
// A field given in an overlay replaces the whole field of the same name.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { compileMapping, MappingLoadError, type CompiledMapping, type MappingDocument } from './engine.ts';

export const MAPPINGS_DIR = fileURLToPath(new URL('./mappings/', import.meta.url));
export const SCHEMAS_DIR = fileURLToPath(new URL('./schemas/', import.meta.url));

export interface Overlay {
  overlay: string;
  description?: string;
  fields: Record<string, unknown>;
}

export function readDocument(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true });
  } catch {
    throw new MappingLoadError(file, [{ code: 'XFORM_MAPPING_INVALID', message: 'the file is not valid YAML or JSON', mappingPointer: '' }]);
  }
}

const schemaCache = new Map<string, Record<string, unknown>>();
export function targetSchema(system: string, object: string): Record<string, unknown> | undefined {
  const file = join(SCHEMAS_DIR, system, `${object}.json`);
  if (!schemaCache.has(file)) {
    try {
      schemaCache.set(file, JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>);
    } catch {
      return undefined;
    }
  }
  return schemaCache.get(file);
}

/** The shipped document with an overlay's fields laid over it. */
export function applyOverlay(base: MappingDocument, overlay: Overlay): MappingDocument {
  const fields = { ...base.fields } as Record<string, unknown>;
  for (const [k, v] of Object.entries(overlay.fields)) {
    if (v === null) delete fields[k];
    else fields[k] = v;
  }
  return { ...base, fields: fields as MappingDocument['fields'], description: overlay.description ?? base.description };
}

export function compileFile(file: string, overlays: readonly Overlay[] = []): CompiledMapping {
  let doc = readDocument(file) as MappingDocument;
  for (const o of overlays) if (o.overlay === doc.name) doc = applyOverlay(doc, o);
  const schema = doc?.target ? targetSchema(doc.target.system, doc.target.object) : undefined;
  return compileMapping(doc, { file, schema });
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) walk(join(dir, e.name), out);
    else if (/\.(ya?ml|json)$/.test(e.name)) out.push(join(dir, e.name));
  }
  return out.sort();
}

/** Every shipped mapping, compiled, by name; overlays (a tenant's) applied where they match. */
export function loadMappings(opts: { dir?: string; overlays?: readonly Overlay[] } = {}): Map<string, CompiledMapping> {
  const dir = opts.dir ?? MAPPINGS_DIR;
  const out = new Map<string, CompiledMapping>();
  const problems: string[] = [];
  for (const file of walk(dir)) {
    try {
      const m = compileFile(file, opts.overlays);
      if (out.has(m.name)) problems.push(`${relative(dir, file)}: mapping ${m.name} is defined twice`);
      out.set(m.name, m);
    } catch (err) {
      if (err instanceof MappingLoadError) problems.push(err.message);
      else throw err;
    }
  }
  for (const o of opts.overlays ?? []) if (!out.has(o.overlay)) problems.push(`overlay for unknown mapping ${o.overlay}`);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return out;
}
