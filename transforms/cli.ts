// quant-xform: dry-runs a mapping on a file and prints the target records, or every error with
// a pointer into the input and into the mapping. Exit code 1 when a record is refused.
//
//   npm run xform -- salesforce.work-order transforms/fixtures/work-order.json
//   npm run xform -- erp.service-order order.xml --reverse --xml-arrays ServiceOrder.Lines.Line
//   npm run xform -- salesforce.account customers.csv --overlay acme.yaml --ids ids.json --out csv
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { IdMap } from './engine.ts';
import { parseCsv, parseXml, toCsv, toXml } from './formats.ts';
import { loadMappings, type Overlay } from './registry.ts';

const program = new Command('quant-xform')
  .description('Dry-run a mapping on a JSON, XML or CSV file')
  .argument('<mapping>', 'mapping name, e.g. salesforce.work-order')
  .argument('<file>', 'input file (.json, .xml or .csv)')
  .option('--reverse', 'apply the reverse mapping (target records → canonical)')
  .option('--overlay <file...>', 'overlay documents to apply')
  .option('--ids <file>', 'JSON id map: { "system:type:quantId": "externalId" }')
  .option('--xml-arrays <paths...>', 'XML element paths that are lists (e.g. ServiceOrder.Lines.Line)')
  .option('--out <format>', 'json, xml or csv', 'json')
  .action(async (name: string, file: string, o: { reverse?: boolean; overlay?: string[]; ids?: string; xmlArrays?: string[]; out: string }) => {
    const overlays = (o.overlay ?? []).map((f) => parseYaml(readFileSync(f, 'utf8')) as Overlay);
    const mappings = loadMappings({ overlays });
    const m = mappings.get(name);
    if (!m) fail(`no mapping named ${name}; known: ${[...mappings.keys()].join(', ')}`);
    const text = readFileSync(file, 'utf8');
    let inputs: unknown[];
    if (file.endsWith('.xml')) {
      const doc = parseXml(text, { arrays: o.xmlArrays });
      inputs = Object.values(doc).filter((v) => v && typeof v === 'object');
    } else if (file.endsWith('.csv')) inputs = parseCsv(text);
    else {
      const v = JSON.parse(text) as unknown;
      inputs = Array.isArray(v) ? v : [v];
    }
    const pairs = Object.entries(o.ids ? (JSON.parse(readFileSync(o.ids, 'utf8')) as Record<string, string>) : {});
    const ids: IdMap = {
      externalId: (s, t, q) => pairs.find(([k]) => k === `${s}:${t}:${q}`)?.[1],
      quantId: (s, t, e) => pairs.find(([k, v]) => v === e && k.startsWith(`${s}:${t}:`))?.[0].split(':').slice(2).join(':'),
    };
    const outputs: unknown[] = [];
    let failed = false;
    for (const [i, input] of inputs.entries()) {
      const r = o.reverse ? m!.reverse([input as Record<string, unknown>], ids) : await m!.apply(input, ids);
      const errors = 'errors' in r ? r.errors : [];
      if (errors.length > 0) {
        failed = true;
        for (const e of errors) {
          process.stderr.write(`input ${i}${e.record !== undefined ? ` record ${e.record}` : ''}: ${e.code} ${e.pointer ?? ''} ${e.message}` + `${e.inputPointer !== undefined ? ` (input ${e.inputPointer})` : ''}${e.mappingPointer !== undefined ? ` (mapping ${e.mappingPointer})` : ''}\n`);
        }
      }
      // A refused input is reported above and left out of the output, never shown as if mapped.
      if (errors.length === 0) outputs.push(...('value' in r ? [r.value] : r.records));
    }
    const out = outputs as Record<string, unknown>[];
    if (o.out === 'csv') process.stdout.write(toCsv(out));
    else if (o.out === 'xml') process.stdout.write(out.map((r) => toXml(m!.document.target.object, r)).join('\n') + '\n');
    else process.stdout.write(JSON.stringify(out.length === 1 ? out[0] : out, null, 2) + '\n');
    process.exit(failed ? 1 : 0);
  });

function fail(msg: string): never {
  process.stderr.write(`quant-xform: ${msg}\n`);
  process.exit(2);
}

await program.parseAsync();
