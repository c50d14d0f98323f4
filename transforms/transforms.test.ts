import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { compileMapping, MappingLoadError, XFORM_CODES, type IdMap, type MappingDocument, type Result } from './engine.ts';
import { parseCsv, parseXml, toCsv, toXml } from './formats.ts';
import { applyOverlay, loadMappings, targetSchema } from './registry.ts';
import { MAPPING_SCHEMA } from './mapping-schema.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const json = (p: string) => JSON.parse(readFileSync(here(p), 'utf8')) as Record<string, unknown>;
const workOrder = json('./fixtures/work-order.json');
const customer = json('./fixtures/customer.json');
const idPairs = json('./fixtures/ids.json') as Record<string, string>;
const ids: IdMap = {
  externalId: (s, t, q) => idPairs[`${s}:${t}:${q}`],
  quantId: (s, t, e) => Object.entries(idPairs).find(([k, v]) => v === e && k.startsWith(`${s}:${t}:`))?.[0].split(':')[2],
};
const mappings = loadMappings();

describe('golden outputs of every shipped mapping', () => {
  test('twelve mappings are shipped', () => {
    assert.deepEqual([...mappings.keys()].sort(), [
      'erp.service-order', 'hubspot.company', 'hubspot.contact', 'hubspot.deal', 'hubspot.line-item',
      'quickbooks.customer', 'quickbooks.invoice',
      'salesforce.account', 'salesforce.contact', 'salesforce.service-appointment', 'salesforce.work-order', 'salesforce.work-order-line-item',
    ]);
  });
  for (const [name, m] of mappings) {
    test(name, async () => {
      const input = m.document.source === 'customer' ? customer : workOrder;
      const r = await m.apply(input, ids);
      assert.equal(r.ok, true, JSON.stringify((r as { errors?: unknown }).errors));
      const golden = json(`./fixtures/golden/${name}.json`);
      assert.deepEqual(r.records.length === 1 && !m.document.records ? r.records[0] : r.records, golden);
    });
  }
});

describe('XML and CSV', () => {
  test('an ERP service order in XML reverses to the canonical work order (ids and codes stay strings)', () => {
    const doc = parseXml(readFileSync(here('./fixtures/service-order.xml'), 'utf8'), { arrays: ['ServiceOrder.Lines.Line'] });
    const so = doc.ServiceOrder as Record<string, unknown>;
    assert.equal(so['@_revision'], '3', 'attributes are kept');
    const r = mappings.get('erp.service-order')!.reverse([so], ids);
    assert.equal(r.ok, true);
    assert.deepEqual(r.value, json('./fixtures/golden/erp.service-order.reverse.json'));
    assert.equal((r.value.lineItems as { sku: string }[])[0]!.sku, '00200');
  });

  test('a work order serializes to the ERP XML', async () => {
    const r = (await mappings.get('erp.service-order')!.apply(workOrder, ids)) as Result;
    assert.equal(toXml('ServiceOrder', r.records[0]!).trimEnd(), readFileSync(here('./fixtures/golden/erp.service-order.xml'), 'utf8').trimEnd());
  });

  test('a CSV of customers maps row by row; a bad row is refused with pointers, not dropped silently', async () => {
    const rows = parseCsv(readFileSync(here('./fixtures/customers.csv'), 'utf8'));
    assert.equal(rows.length, 3);
    assert.equal((rows[0]!.billingAddress as Record<string, string>).postalCode, '02110');
    const m = mappings.get('salesforce.account')!;
    const results = await Promise.all(rows.map((r) => m.apply(r, ids)));
    assert.equal(toCsv(results.filter((r) => r.ok).flatMap((r) => r.records)), readFileSync(here('./fixtures/golden/salesforce.account.csv'), 'utf8'));
    const bad = results[2]!;
    assert.equal(bad.ok, false);
    assert.deepEqual((bad as { errors: unknown[] }).errors, [
      { code: 'XFORM_COERCION', message: 'must be a valid phone number', pointer: '/Phone', inputPointer: '/phone', mappingPointer: '/fields/Phone/type', record: 0 },
    ]);
  });
});

describe('refusals', () => {
  const doc = (): MappingDocument => JSON.parse(JSON.stringify(mappings.get('salesforce.work-order')!.document)) as MappingDocument;
  const schema = targetSchema('salesforce', 'WorkOrder');

  test('a value longer than the target field is refused unless the mapping says to truncate', async () => {
    const long = { ...workOrder, summary: 'x'.repeat(300) };
    const r = await mappings.get('salesforce.work-order')!.apply(long, ids);
    assert.equal(r.ok, false);
    const e = (r as { errors: { code: string; pointer: string; message: string }[] }).errors;
    assert.deepEqual(e.map((x) => [x.code, x.pointer]), [['XFORM_OUTPUT_INVALID', '/Subject']]);
    assert.match(e[0]!.message, /longer than the WorkOrder field allows \(255\)/);
    const truncating = compileMapping(applyOverlay(doc(), { overlay: 'salesforce.work-order', fields: { Subject: { path: 'summary', truncate: 255 } } }), { file: 'x', schema });
    const ok = (await truncating.apply(long, ids)) as Result;
    assert.equal(ok.ok, true);
    assert.equal((ok.records[0]!.Subject as string).length, 255);
  });

  test('every reason of a record is listed: required, unmapped value, missing id-map entry', async () => {
    const r = await mappings.get('salesforce.work-order')!.apply({ ...workOrder, id: undefined, status: 'exploded', customer: { id: 'c-unknown' } }, ids);
    assert.equal(r.ok, false);
    const e = (r as { errors: { code: string; pointer?: string; inputPointer?: string }[] }).errors;
    assert.deepEqual(
      e.map((x) => [x.code, x.pointer, x.inputPointer]),
      [
        ['XFORM_REQUIRED', '/Quant_Id__c', '/id'],
        ['XFORM_COERCION', '/Status', '/status'],
        ['XFORM_LOOKUP', '/AccountId', '/customer/id'],
        ['XFORM_OUTPUT_INVALID', '/Status', undefined],
        ['XFORM_OUTPUT_INVALID', '/Quant_Id__c', undefined],
      ],
    );
  });

  test('a mapping that fails its schema, or whose expression does not compile, is refused at load with pointers', () => {
    const bad = { ...doc(), fields: { Subject: { path: 'summary', colour: 'red' }, Status: { expr: '$$$(' } } };
    assert.throws(() => compileMapping(bad, { file: 'bad.yaml' }), (err: unknown) => err instanceof MappingLoadError && err.problems.some((p) => p.mappingPointer === '/fields/Subject'));
    const badExpr = { ...doc(), fields: { Status: { expr: '$$$(' } } };
    assert.throws(() => compileMapping(badExpr, { file: 'bad.yaml' }), (err: unknown) => err instanceof MappingLoadError && err.problems[0]!.code === 'XFORM_EXPRESSION_INVALID' && err.problems[0]!.mappingPointer === '/fields/Status/expr');
    const lossy = { ...doc(), fields: { Status: { path: 'status', map: { draft: 'New', scheduled: 'New' } } } };
    assert.throws(() => compileMapping(lossy, { file: 'lossy.yaml' }), (err: unknown) => err instanceof MappingLoadError && err.problems[0]!.code === 'XFORM_MAP_NOT_REVERSIBLE');
  });

  test('an overlay adds a custom field and removes another without copying the mapping', async () => {
    const m = loadMappings({ overlays: [{ overlay: 'salesforce.account', fields: { Quant_Region__c: { path: 'billingAddress.region' }, Phone: null } }] }).get('salesforce.account')!;
    const r = (await m.apply(customer, ids)) as Result;
    assert.equal(r.ok, true);
    assert.equal(r.records[0]!.Quant_Region__c, 'CA');
    assert.equal(r.records[0]!.Phone, undefined);
    assert.equal(r.records[0]!.Name, 'Acme Dental', 'the rest of the shipped mapping is kept');
  });

  test('conditional fields apply only when their condition holds', async () => {
    const m = compileMapping(
      { ...doc(), fields: { Quant_Id__c: { path: 'id' }, Subject: { path: 'summary' }, Status: { const: 'Completed' }, Description: { path: 'description', when: "status = 'completed'" } } },
      { file: 'when.yaml', schema },
    );
    assert.equal(((await m.apply(workOrder)) as Result).records[0]!.Description, workOrder.description);
    assert.equal(((await m.apply({ ...workOrder, status: 'draft' })) as Result).records[0]!.Description, undefined);
  });

  test('an object whose fields are all expressions is kept once they settle, and dropped when they give nothing', async () => {
    const m = compileMapping(
      {
        name: 'test.nested',
        source: 'work-order',
        target: { system: 'test', object: 'Nested' },
        fields: {
          Totals: { fields: { Lines: { expr: '$count(lineItems)' }, Big: { when: 'totals.subtotal.amount > 100000', expr: "'yes'" } } },
          Never: { fields: { X: { when: 'false', expr: '1' } } },
        },
      },
      { file: 'nested.yaml' },
    );
    assert.equal(m.async, true);
    const r = (await m.apply(workOrder)) as Result;
    assert.deepEqual(r.records[0], { Totals: { Lines: 2, Big: 'yes' } });
  });
});

test('every transforms error code is documented, and every documented one exists', () => {
  const doc = readFileSync(here('../docs/errors.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `(XFORM_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), [...XFORM_CODES].sort());
});

test('the published mapping schema is the engine one', () => {
  assert.deepEqual(json('./mapping.schema.json'), JSON.parse(JSON.stringify(MAPPING_SCHEMA)));
});

test('the CLI dry-runs a file and exits 1 with every reason when a record is refused', async () => {
  const run = promisify(execFile);
  const cli = here('./cli.ts');
  const ok = await run(process.execPath, ['--import', 'tsx', cli, 'salesforce.work-order', here('./fixtures/work-order.json'), '--ids', here('./fixtures/ids.json')]);
  assert.deepEqual(JSON.parse(ok.stdout), json('./fixtures/golden/salesforce.work-order.json'));
  const bad = await run(process.execPath, ['--import', 'tsx', cli, 'salesforce.account', here('./fixtures/customers.csv'), '--out', 'csv']).catch((e: { code: number; stderr: string; stdout: string }) => e);
  assert.equal((bad as { code: number }).code, 1);
  assert.match((bad as { stderr: string }).stderr, /input 2 record 0: XFORM_COERCION \/Phone must be a valid phone number \(input \/phone\) \(mapping \/fields\/Phone\/type\)/);
});
