// npm run openapi:check — each openapi/<v>.yaml against its released copy in openapi/released/.
// Exits 1 when a document breaks its release within the same major version.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { findBreakingChanges, report } from '../openapi/breaking.ts';

const dir = fileURLToPath(new URL('../openapi/', import.meta.url));
let failed = false;
for (const f of readdirSync(`${dir}released`).filter((x) => x.endsWith('.yaml')).sort()) {
  const r = findBreakingChanges(parse(readFileSync(`${dir}released/${f}`, 'utf8')), parse(readFileSync(`${dir}${f}`, 'utf8')));
  process.stdout.write(report(f, r) + '\n');
  if (r.changes.length > 0 && !r.majorChanged) failed = true;
}
process.exit(failed ? 1 : 0);
