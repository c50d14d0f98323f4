// Reading and writing records as JSON, XML and CSV.
// XML (fast-xml-parser): every value stays a string (ids and postal codes keep their leading
// zeros; a mapping's `type:` converts what must be a number), attributes are kept under `@_`,
// the elements that are lists are named by path so one child still makes a list, and the
// parser's entity-expansion limits stay on.
// CSV (csv-parse / csv-stringify): one record per row; `a.b` headers nest, and nested objects
// flatten back to `a.b` columns.
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { parse as parseCsvSync } from 'csv-parse/sync';
import { stringify as stringifyCsvSync } from 'csv-stringify/sync';

export type Format = 'json' | 'xml' | 'csv';

export function parseXml(text: string, opts: { arrays?: readonly string[] } = {}): Record<string, unknown> {
  const arrays = new Set(opts.arrays ?? []);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    isArray: (_name, jpath) => arrays.has(String(jpath)),
  });
  return parser.parse(text) as Record<string, unknown>;
}

export function toXml(root: string, value: Record<string, unknown>): string {
  const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: value }) as string}`;
}

function nest(row: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v === '') continue;
    const parts = k.split('.');
    let o = out;
    for (let i = 0; i < parts.length - 1; i++) o = (o[parts[i]!] ??= {}) as Record<string, unknown>;
    o[parts[parts.length - 1]!] = v;
  }
  return out;
}

function flatten(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = Array.isArray(value) ? JSON.stringify(value) : value;
  }
  return out;
}

export function parseCsv(text: string): Record<string, unknown>[] {
  const rows = parseCsvSync(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Record<string, string>[];
  return rows.map(nest);
}

export function toCsv(records: readonly Record<string, unknown>[]): string {
  const flat = records.map((r) => flatten(r));
  const columns = [...new Set(flat.flatMap((r) => Object.keys(r)))];
  return stringifyCsvSync(flat, { header: true, columns });
}
