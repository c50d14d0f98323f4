// Property tests over generated work orders and customers, for every shipped mapping:
// (1) every output passes its target schema, or the record is refused with reasons;
// (2) canonical → target → canonical gives back every field the mapping carries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { FieldSpec, IdMap } from './engine.ts';
import { loadMappings, targetSchema } from './registry.ts';

const mappings = loadMappings();
const ajv = new Ajv2020({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);

/** A one-to-one id map that invents ids in each system's own format. */
function bijectiveIds(): IdMap {
  const fwd = new Map<string, string>();
  const back = new Map<string, string>();
  let n = 0;
  const make = (system: string) => {
    n++;
    if (system === 'salesforce') return `001${String(n).padStart(15, '0')}`;
    if (system === 'quickbooks') return String(n);
    return `X${n}`;
  };
  return {
    externalId(system, type, q) {
      const k = `${system}:${type}:${q}`;
      if (!fwd.has(k)) {
        const e = make(system);
        fwd.set(k, e);
        back.set(`${system}:${type}:${e}`, q);
      }
      return fwd.get(k);
    },
    quantId: (system, type, e) => back.get(`${system}:${type}:${e}`),
  };
}

const iso = fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
const money = fc.record({ amount: fc.integer({ min: 0, max: 10_000_000 }), currency: fc.constant('USD') });
const text = (max: number) => fc.string({ minLength: 1, maxLength: max });
const email = fc.emailAddress().filter((e) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e) && e === e.toLowerCase());
const phone = fc.constantFrom('+14155552671', '+442079460958', '+61293744000', '+493090182000');
const customer = fc.record(
  {
    id: fc.uuid(),
    name: text(300),
    email,
    phone,
    billingAddress: fc.record({ line1: text(300), city: text(60), region: text(90), postalCode: fc.stringMatching(/^[0-9]{5}$/), country: fc.constantFrom('US', 'GB', 'DE') }, { requiredKeys: [] }),
  },
  { requiredKeys: ['id', 'name'] },
);
const lineItem = fc.record({
  id: fc.uuid(),
  kind: fc.constantFrom('labor', 'part', 'fee'),
  sku: fc.stringMatching(/^[A-Z]{3}-[0-9]{3}$/),
  description: text(120),
  quantity: fc.integer({ min: 1, max: 100 }),
  unitPrice: money,
  taxable: fc.boolean(),
});
const workOrder = fc.record(
  {
    id: fc.uuid(),
    number: fc.stringMatching(/^WO-[0-9]{4,6}$/),
    status: fc.constantFrom('draft', 'scheduled', 'dispatched', 'in_progress', 'on_hold', 'completed', 'cancelled'),
    priority: fc.constantFrom('low', 'normal', 'high', 'urgent'),
    summary: text(300),
    description: text(2000),
    customer,
    schedule: fc.record({ start: iso, end: iso }),
    lineItems: fc.array(lineItem, { minLength: 1, maxLength: 4 }),
    totals: fc.record({ subtotal: money }),
    completedAt: iso,
  },
  { requiredKeys: ['id', 'number', 'status', 'summary', 'customer', 'lineItems', 'totals'] },
);

const get = (o: unknown, path: string) => path.split('.').reduce<unknown>((a, k) => (a && typeof a === 'object' ? (a as Record<string, unknown>)[k] : undefined), o);
const LOSSY = new Set(['date', 'upper', 'lower']);

/** Source paths a mapping promises to carry back: plain path and lookup fields, outside lists. */
function carriedPaths(fields: Record<string, FieldSpec>): string[] {
  const out: string[] = [];
  for (const spec of Object.values(fields)) {
    if (spec.reverse === false || spec.each || spec.expr || spec.when || 'const' in spec || (spec.type && LOSSY.has(spec.type))) continue;
    if (spec.fields) out.push(...carriedPaths(spec.fields));
    else if (spec.lookup && !spec.lookup.path.startsWith('$.')) out.push(spec.lookup.path);
    else if (spec.path && !spec.path.startsWith('$.')) out.push(spec.path);
  }
  return out;
}

/** Every leaf of `sub` equals the same leaf of `whole`. */
function assertSubset(sub: unknown, whole: unknown, at = ''): void {
  if (sub && typeof sub === 'object') {
    for (const [k, v] of Object.entries(sub)) assertSubset(v, (whole as Record<string, unknown> | undefined)?.[k], `${at}/${k}`);
    return;
  }
  assert.deepEqual(sub, whole, `reverse changed ${at}`);
}

for (const [name, m] of mappings) {
  test(`${name}: outputs pass the target schema or are refused with reasons; the round trip keeps every carried field`, async () => {
    const validate = ajv.compile(targetSchema(m.document.target.system, m.document.target.object)!);
    const carried = m.document.records ? [] : carriedPaths(m.document.fields);
    // Plain JSON, as records arrive from the core service (fast-check builds some objects without a prototype).
    const source = (m.document.source === 'customer' ? customer : workOrder).map((v) => JSON.parse(JSON.stringify(v)) as Record<string, unknown>);
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(source, async (input) => {
        const ids = bijectiveIds();
        const r = await m.apply(input, ids);
        if (!r.ok) {
          assert.ok(r.errors.length > 0);
          for (const e of r.errors) assert.ok(e.code.startsWith('XFORM_') && e.message && (e.pointer !== undefined || e.mappingPointer !== undefined), JSON.stringify(e));
          return;
        }
        accepted++;
        for (const rec of r.records) assert.ok(validate(rec), `${JSON.stringify(validate.errors)} in ${JSON.stringify(rec)}`);
        const back = m.reverse(r.records, ids);
        assert.equal(back.ok, true, JSON.stringify(back.errors));
        assertSubset(back.value, input);
        for (const p of carried) if (get(input, p) !== undefined) assert.deepEqual(get(back.value, p), get(input, p), `${p} was not carried back`);
      }),
      { numRuns: 150, seed: 42 },
    );
    assert.ok(accepted > 10, `only ${accepted} of 150 generated records were accepted: the generator or the mapping is off`);
  });
}
