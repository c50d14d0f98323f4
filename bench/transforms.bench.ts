// Transforms benchmark (npm run bench:transforms): each shipped mapping over 100,000 generated
// work orders (or their customers), against a hand-written TypeScript function doing the same
// mapping — same coercions, same lookups, same target-schema validation — measured in the same
// run, alternating, best of three. Prints records/s and engine/hand-written ratios (target ≥ 0.5).
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { forward } from '../transforms/coerce.ts';
import type { IdMap } from '../transforms/engine.ts';
import { loadMappings, targetSchema } from '../transforms/registry.ts';

const N = Number(process.env.BENCH_RECORDS ?? 100_000);
type Rec = Record<string, unknown>;
type WO = {
  id: string; number: string; status: string; priority: string; summary: string; description: string; completedAt: string;
  customer: { id: string; name: string; email: string; phone: string; billingAddress: { line1: string; city: string; region: string; postalCode: string; country: string } };
  schedule: { start: string; end: string };
  lineItems: { id: string; kind: string; sku: string; description: string; quantity: number; unitPrice: { amount: number; currency: string } }[];
  totals: { subtotal: { amount: number; currency: string } };
};

let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
const STATUSES = ['draft', 'scheduled', 'dispatched', 'in_progress', 'on_hold', 'completed', 'cancelled'];
const PHONES = ['+14155552671', '(415) 555-2671', '+442079460958', '+61 2 9374 4000'];
function generate(i: number): WO {
  const start = Date.UTC(2026, 0, 1) + Math.floor(rnd() * 3e10);
  return {
    id: `wo-${i}`, number: `WO-${100000 + i}`, status: pick(STATUSES), priority: pick(['low', 'normal', 'high', 'urgent']),
    summary: `Service visit ${i}`, description: 'Check unit, replace filter, test run.', completedAt: new Date(start + 7.2e6).toISOString(),
    customer: { id: `c-${i % 5000}`, name: `Customer ${i % 5000}`, email: `ops${i % 5000}@example.com`, phone: pick(PHONES), billingAddress: { line1: `${i} Main St`, city: 'Springfield', region: 'IL', postalCode: '62704', country: 'US' } },
    schedule: { start: new Date(start).toISOString(), end: new Date(start + 3.6e6).toISOString() },
    lineItems: Array.from({ length: 1 + (i % 3) }, (_, k) => ({ id: `li-${i}-${k}`, kind: pick(['labor', 'part', 'fee']), sku: `SKU-${k}`, description: `Line ${k}`, quantity: 1 + (k % 2), unitPrice: { amount: 1999 + k * 100, currency: 'USD' } })),
    totals: { subtotal: { amount: 5000 + i, currency: 'USD' } },
  };
}

const extIds = new Map<string, string>();
const ids: IdMap = {
  externalId: (s, t, q) => {
    const k = `${s}:${t}:${q}`;
    let v = extIds.get(k);
    if (v === undefined) extIds.set(k, (v = s === 'salesforce' ? `001${String(extIds.size).padStart(15, '0')}` : String(extIds.size + 1)));
    return v;
  },
  quantId: () => undefined,
};

const ajv = new Ajv2020({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const schemaOf = (system: string, object: string) => ajv.compile(targetSchema(system, object)!);
const phone = forward('phone-e164');
const email = forward('email');
const datetime = forward('datetime');
const money = forward('money-decimal') as (v: unknown) => number;
const date = forward('date', { zone: 'UTC' });
const WO_STATUS: Record<string, string> = { draft: 'New', scheduled: 'Scheduled', dispatched: 'Dispatched', in_progress: 'In Progress', on_hold: 'On Hold', completed: 'Completed', cancelled: 'Canceled' };
const SA_STATUS: Record<string, string> = { draft: 'None', scheduled: 'Scheduled', dispatched: 'Dispatched', in_progress: 'In Progress', on_hold: 'Cannot Complete', completed: 'Completed', cancelled: 'Canceled' };
const PRIORITY: Record<string, string> = { low: 'Low', normal: 'Medium', high: 'High', urgent: 'Critical' };
const STAGE: Record<string, string> = { draft: 'appointmentscheduled', scheduled: 'qualifiedtobuy', dispatched: 'presentationscheduled', in_progress: 'decisionmakerboughtin', on_hold: 'contractsent', completed: 'closedwon', cancelled: 'closedlost' };
const ERP_STATUS: Record<string, string> = { draft: 'OPEN', scheduled: 'SCHED', dispatched: 'DISP', in_progress: 'WIP', on_hold: 'HOLD', completed: 'DONE', cancelled: 'CANC' };

/** Hand-written equivalents of the shipped mappings: what an integrator would write without the engine. */
type Hand = (w: WO, v: ValidateFunction) => boolean;
const one = (v: ValidateFunction, r: Rec) => v(r);
const all = (v: ValidateFunction, rs: Rec[]) => rs.every((r) => v(r));
const hand: Record<string, Hand> = {
  'salesforce.account': ({ customer: c }, v) => one(v, { Quant_Id__c: c.id, Name: c.name, Phone: phone(c.phone), BillingStreet: c.billingAddress.line1, BillingCity: c.billingAddress.city, BillingState: c.billingAddress.region, BillingPostalCode: c.billingAddress.postalCode, BillingCountry: c.billingAddress.country }),
  'salesforce.contact': ({ customer: c }, v) => one(v, { Quant_Id__c: c.id, LastName: c.name, Email: email(c.email), Phone: phone(c.phone), AccountId: ids.externalId('salesforce', 'account', c.id) }),
  'salesforce.work-order': (w, v) => one(v, { Quant_Id__c: w.id, Quant_Number__c: w.number, Subject: w.summary, Description: w.description, Status: WO_STATUS[w.status], Priority: PRIORITY[w.priority], StartDate: datetime(w.schedule.start), EndDate: datetime(w.schedule.end), AccountId: ids.externalId('salesforce', 'account', w.customer.id) }),
  'salesforce.work-order-line-item': (w, v) => all(v, w.lineItems.map((li) => ({ Quant_Id__c: li.id, WorkOrder: { Quant_Id__c: w.id }, Description: li.description, Quantity: li.quantity, UnitPrice: money(li.unitPrice), Quant_Kind__c: li.kind, Quant_Sku__c: li.sku }))),
  'salesforce.service-appointment': (w, v) => one(v, { Quant_Id__c: w.id, ParentRecord: { attributes: { type: 'WorkOrder' }, Quant_Id__c: w.id }, Subject: w.summary, Status: SA_STATUS[w.status], EarliestStartTime: datetime(w.schedule.start), DueDate: datetime(w.schedule.end), SchedStartTime: datetime(w.schedule.start), SchedEndTime: datetime(w.schedule.end) }),
  'quickbooks.customer': ({ customer: c }, v) => one(v, { DisplayName: c.name, CompanyName: c.name, PrimaryEmailAddr: { Address: email(c.email) }, PrimaryPhone: { FreeFormNumber: phone(c.phone) }, BillAddr: { Line1: c.billingAddress.line1, City: c.billingAddress.city, CountrySubDivisionCode: c.billingAddress.region, PostalCode: c.billingAddress.postalCode, Country: c.billingAddress.country } }),
  'quickbooks.invoice': (w, v) => one(v, { CustomerRef: { value: ids.externalId('quickbooks', 'customer', w.customer.id) }, DocNumber: w.number, TxnDate: date(w.completedAt), CurrencyRef: { value: w.totals.subtotal.currency }, PrivateNote: w.summary.slice(0, 4000), Line: w.lineItems.map((li) => ({ DetailType: 'SalesItemLineDetail', Description: li.description, Amount: Math.round((li.quantity * li.unitPrice.amount) / 100 * 100) / 100, SalesItemLineDetail: { ItemRef: { value: ids.externalId('quickbooks', 'item', li.sku) }, Qty: li.quantity, UnitPrice: money(li.unitPrice) } })) }),
  'hubspot.company': ({ customer: c }, v) => one(v, { quant_id: c.id, name: c.name, phone: phone(c.phone), address: c.billingAddress.line1, city: c.billingAddress.city, state: c.billingAddress.region, zip: c.billingAddress.postalCode, country: c.billingAddress.country }),
  'hubspot.contact': ({ customer: c }, v) => one(v, { quant_id: c.id, email: email(c.email), lastname: c.name, phone: phone(c.phone) }),
  'hubspot.deal': (w, v) => one(v, { quant_id: w.id, dealname: w.summary, amount: money(w.totals.subtotal), pipeline: 'default', dealstage: STAGE[w.status], closedate: datetime(w.completedAt) }),
  'hubspot.line-item': (w, v) => all(v, w.lineItems.map((li) => ({ quant_id: li.id, name: li.description, quantity: li.quantity, price: money(li.unitPrice), hs_sku: li.sku }))),
  'erp.service-order': (w, v) => one(v, { OrderNo: w.number, ExternalRef: w.id, CustomerNo: ids.externalId('erp', 'customer', w.customer.id), Status: ERP_STATUS[w.status], Description: w.summary.slice(0, 80), Lines: { Line: w.lineItems.map((li) => ({ LineRef: li.id, ItemNo: li.sku, Description: li.description.slice(0, 80), Qty: li.quantity, UnitPrice: money(li.unitPrice) })) } }),
};

async function main() {
  const workOrders = Array.from({ length: N }, (_, i) => generate(i));
  const mappings = loadMappings();
  const rows: string[] = [];
  let worst = Infinity;
  for (const [name, m] of mappings) {
    const input = (w: WO): unknown => (m.document.source === 'customer' ? w.customer : w);
    const validator = schemaOf(m.document.target.system, m.document.target.object);
    const h = hand[name];
    if (!h) throw new Error(`no hand-written function for ${name}`);
    const timeEngine = async () => {
      const t0 = performance.now();
      let ok = 0;
      if (m.async) for (const w of workOrders) ok += (await m.apply(input(w), ids)).ok ? 1 : 0;
      else for (const w of workOrders) ok += (m.apply(input(w), ids) as { ok: boolean }).ok ? 1 : 0;
      if (ok !== N) throw new Error(`${name}: engine refused ${N - ok} records`);
      return performance.now() - t0;
    };
    const timeHand = () => {
      const t0 = performance.now();
      let ok = 0;
      for (const w of workOrders) ok += h(w, validator) ? 1 : 0;
      if (ok !== N) throw new Error(`${name}: hand-written refused ${N - ok} records`);
      return performance.now() - t0;
    };
    let e = Infinity;
    let hw = Infinity;
    for (let round = 0; round < 3; round++) {
      e = Math.min(e, await timeEngine());
      hw = Math.min(hw, timeHand());
    }
    const ratio = hw / e;
    worst = Math.min(worst, ratio);
    rows.push(`${name.padEnd(34)}${(N / (e / 1000)).toFixed(0).padStart(10)}${(N / (hw / 1000)).toFixed(0).padStart(12)}${ratio.toFixed(2).padStart(8)}${m.async ? '  (JSONata)' : ''}`);
  }
  process.stdout.write(
    [`Transforms benchmark — ${N} generated work orders per mapping, best of 3, same process`, '', `${'mapping'.padEnd(34)}${'engine/s'.padStart(10)}${'hand/s'.padStart(12)}${'ratio'.padStart(8)}`, ...rows, '', `lowest ratio ${worst.toFixed(2)} (target ≥ 0.5)`].join('\n') + '\n',
  );
}

await main();
