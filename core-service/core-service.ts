// The reference core service: work orders and customers in SQLite, in the canonical shape of
// DESIGN.md, scoped by the X-Quant-Tenant header the gateway sets. It is the default upstream of
// `npm start` and of the tests; it trusts the gateway for authentication and validation, and
// still refuses a call without a tenant.
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import Database from 'better-sqlite3';

interface Money {
  amount: number;
  currency: string;
}

interface LineItemIn {
  kind: 'labor' | 'part' | 'fee';
  sku?: string;
  description: string;
  quantity: number;
  unitPrice: Money;
  taxable?: boolean;
}

export interface CoreService {
  app: express.Express;
  close(): void;
}

function problem(res: Response, status: number, code: string, title: string) {
  res.status(status).type('application/problem+json').json({ type: 'about:blank', title, status, code });
}

export function createCoreService(opts: { file?: string } = {}): CoreService {
  const db = new Database(opts.file ?? ':memory:');
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS customers (tenant_id TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (tenant_id, id));
    CREATE TABLE IF NOT EXISTS resources (tenant_id TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (tenant_id, kind, id));
    CREATE TABLE IF NOT EXISTS work_orders (tenant_id TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, doc TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (tenant_id, id));
  `);
  const q = {
    insCustomer: db.prepare('INSERT INTO customers (tenant_id, id, doc, created_at) VALUES (?, ?, ?, ?)'),
    getCustomer: db.prepare('SELECT doc FROM customers WHERE tenant_id = ? AND id = ?'),
    listCustomers: db.prepare('SELECT doc FROM customers WHERE tenant_id = ? ORDER BY created_at, id LIMIT ? OFFSET ?'),
    countCustomers: db.prepare('SELECT COUNT(*) AS n FROM customers WHERE tenant_id = ?'),
    nextSeq: db.prepare('SELECT COALESCE(MAX(seq), 1000) + 1 AS n FROM work_orders WHERE tenant_id = ?'),
    insWo: db.prepare('INSERT INTO work_orders (tenant_id, id, seq, doc, created_at) VALUES (?, ?, ?, ?, ?)'),
    getWo: db.prepare('SELECT doc FROM work_orders WHERE tenant_id = ? AND id = ?'),
    listWo: db.prepare(
      `SELECT doc FROM work_orders WHERE tenant_id = ? AND (? IS NULL OR json_extract(doc, '$.status') = ?)
       ORDER BY seq DESC LIMIT ? OFFSET ?`,
    ),
    countWo: db.prepare(`SELECT COUNT(*) AS n FROM work_orders WHERE tenant_id = ? AND (? IS NULL OR json_extract(doc, '$.status') = ?)`),
  };

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '1mb' }));
  app.use((req, res, next) => {
    const tenant = req.headers['x-quant-tenant'];
    if (typeof tenant !== 'string' || tenant === '') return problem(res, 401, 'CORE_NO_TENANT', 'No tenant');
    res.locals.tenant = tenant;
    next();
  });
  const page = (req: Request) => ({
    limit: Math.min(100, Math.max(1, Number(req.query.limit ?? 20) || 20)),
    offset: Math.max(0, Number(req.query.offset ?? 0) || 0),
  });

  app.get('/api/customers', (req, res) => {
    const { limit, offset } = page(req);
    const t = res.locals.tenant as string;
    const items = (q.listCustomers.all(t, limit, offset) as { doc: string }[]).map((r) => JSON.parse(r.doc));
    res.json({ items, total: (q.countCustomers.get(t) as { n: number }).n, limit, offset });
  });
  app.post('/api/customers', (req, res) => {
    const t = res.locals.tenant as string;
    const now = new Date().toISOString();
    const c = { id: randomUUID(), tenantId: t, ...pick(req.body, ['name', 'email', 'phone', 'billingAddress']), createdAt: now, updatedAt: now };
    q.insCustomer.run(t, c.id, JSON.stringify(c), now);
    res.status(201).location(`/api/customers/${c.id}`).json(c);
  });
  app.get('/api/customers/:id', (req, res) => {
    const r = q.getCustomer.get(res.locals.tenant, req.params.id) as { doc: string } | undefined;
    if (!r) return problem(res, 404, 'CORE_NOT_FOUND', 'Customer not found');
    res.json(JSON.parse(r.doc));
  });

  app.get('/api/work-orders', (req, res) => {
    const { limit, offset } = page(req);
    const t = res.locals.tenant as string;
    const status = typeof req.query.status === 'string' ? req.query.status : null;
    const items = (q.listWo.all(t, status, status, limit, offset) as { doc: string }[]).map((r) => JSON.parse(r.doc));
    res.json({ items, total: (q.countWo.get(t, status, status) as { n: number }).n, limit, offset });
  });
  app.post('/api/work-orders', (req, res) => {
    const t = res.locals.tenant as string;
    const body = req.body as Record<string, unknown>;
    const now = new Date().toISOString();
    const created = db.transaction(() => {
      const seq = (q.nextSeq.get(t) as { n: number }).n;
      let customer = body.customer as Record<string, unknown> | undefined;
      if (customer && typeof customer.id === 'string') {
        const r = q.getCustomer.get(t, customer.id) as { doc: string } | undefined;
        if (r) customer = JSON.parse(r.doc) as Record<string, unknown>;
      }
      const lineItems = ((body.lineItems as LineItemIn[] | undefined) ?? []).map((li) => ({ id: randomUUID(), taxable: false, ...li }));
      const currency = lineItems[0]?.unitPrice.currency ?? 'USD';
      const subtotal = lineItems.reduce((s, li) => s + Math.round(li.quantity * li.unitPrice.amount), 0);
      const wo = {
        id: randomUUID(),
        number: `WO-${seq}`,
        tenantId: t,
        status: body.status ?? 'draft',
        priority: body.priority ?? 'normal',
        type: body.type ?? 'repair',
        summary: body.summary,
        ...pick(body, ['description', 'site', 'assets', 'assignments', 'schedule']),
        customer,
        lineItems,
        totals: { subtotal: { amount: subtotal, currency } },
        completedAt: null,
        createdAt: now,
        updatedAt: now,
        version: 1,
      };
      q.insWo.run(t, wo.id, seq, JSON.stringify(wo), now);
      return wo;
    })();
    res.status(201).location(`/api/work-orders/${created.id}`).json(created);
  });
  app.get('/api/work-orders/:id', (req, res) => {
    const r = q.getWo.get(res.locals.tenant, req.params.id) as { doc: string } | undefined;
    if (!r) return problem(res, 404, 'CORE_NOT_FOUND', 'Work order not found');
    res.json(JSON.parse(r.doc));
  });
  // Technicians, invoices and webhook subscriptions share one table of JSON documents.
  const r = {
    ins: db.prepare('INSERT INTO resources (tenant_id, kind, id, seq, doc) VALUES (?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM resources WHERE tenant_id = ? AND kind = ?), ?)'),
    get: db.prepare('SELECT doc FROM resources WHERE tenant_id = ? AND kind = ? AND id = ?'),
    list: db.prepare('SELECT doc FROM resources WHERE tenant_id = ? AND kind = ? ORDER BY seq DESC LIMIT ? OFFSET ?'),
    count: db.prepare('SELECT COUNT(*) AS n FROM resources WHERE tenant_id = ? AND kind = ?'),
    del: db.prepare('DELETE FROM resources WHERE tenant_id = ? AND kind = ? AND id = ?'),
    nextNumber: db.prepare("SELECT COUNT(*) + 1001 AS n FROM resources WHERE tenant_id = ? AND kind = 'invoice'"),
  };
  const put = (t: string, kind: string, doc: { id: string }) => r.ins.run(t, kind, doc.id, t, kind, JSON.stringify(doc));
  const one = (t: string, kind: string, id: string) => {
    const row = r.get.get(t, kind, id) as { doc: string } | undefined;
    return row && (JSON.parse(row.doc) as Record<string, unknown>);
  };
  const listing = (kind: string, hide: (d: Record<string, unknown>) => Record<string, unknown> = (d) => d) => (req: Request, res: Response) => {
    const { limit, offset } = page(req);
    const t = res.locals.tenant as string;
    const items = (r.list.all(t, kind, limit, offset) as { doc: string }[]).map((x) => hide(JSON.parse(x.doc) as Record<string, unknown>));
    res.json({ items, total: (r.count.get(t, kind) as { n: number }).n, limit, offset });
  };
  const fetchOne = (kind: string, title: string, hide: (d: Record<string, unknown>) => Record<string, unknown> = (d) => d) => (req: Request, res: Response) => {
    const d = one(res.locals.tenant as string, kind, String(req.params.id));
    if (!d) return problem(res, 404, 'CORE_NOT_FOUND', `${title} not found`);
    res.json(hide(d));
  };

  app.get('/api/technicians', listing('technician'));
  app.get('/api/technicians/:id', fetchOne('technician', 'Technician'));
  app.post('/api/technicians', (req, res) => {
    const t = res.locals.tenant as string;
    const now = new Date().toISOString();
    const doc = { id: randomUUID(), tenantId: t, active: true, skills: [], ...pick(req.body, ['name', 'email', 'phone', 'skills', 'active']), createdAt: now, updatedAt: now };
    put(t, 'technician', doc);
    res.status(201).location(`/api/technicians/${doc.id}`).json(doc);
  });

  app.get('/api/invoices', listing('invoice'));
  app.get('/api/invoices/:id', fetchOne('invoice', 'Invoice'));
  app.post('/api/invoices', (req, res) => {
    const t = res.locals.tenant as string;
    const workOrderId = String((req.body as { workOrderId?: unknown }).workOrderId ?? '');
    const row = q.getWo.get(t, workOrderId) as { doc: string } | undefined;
    if (!row) return problem(res, 422, 'CORE_NO_WORK_ORDER', 'No such work order');
    const wo = JSON.parse(row.doc) as { id: string; customer?: { id?: string }; lineItems: unknown[]; totals: { subtotal: { amount: number; currency: string } } };
    const now = new Date();
    const doc = {
      id: randomUUID(),
      tenantId: t,
      number: `INV-${(r.nextNumber.get(t) as { n: number }).n}`,
      status: 'open',
      workOrderId: wo.id,
      customerId: wo.customer?.id,
      lineItems: wo.lineItems,
      total: wo.totals.subtotal,
      issuedAt: now.toISOString(),
      dueAt: new Date(now.getTime() + 30 * 86_400_000).toISOString(),
      createdAt: now.toISOString(),
    };
    put(t, 'invoice', doc);
    res.status(201).location(`/api/invoices/${doc.id}`).json(doc);
  });

  // A subscription's signing secret is shown once, at creation.
  const noSecret = ({ secret: _s, ...rest }: Record<string, unknown>) => rest;
  app.get('/api/webhook-subscriptions', listing('subscription', noSecret));
  app.get('/api/webhook-subscriptions/:id', fetchOne('subscription', 'Subscription', noSecret));
  app.post('/api/webhook-subscriptions', (req, res) => {
    const t = res.locals.tenant as string;
    const doc = { id: randomUUID(), tenantId: t, active: true, ...pick(req.body, ['url', 'events', 'description']), secret: `whsec_${randomUUID().replaceAll('-', '')}`, createdAt: new Date().toISOString() };
    put(t, 'subscription', doc);
    res.status(201).location(`/api/webhook-subscriptions/${doc.id}`).json(doc);
  });
  app.delete('/api/webhook-subscriptions/:id', (req, res) => {
    const gone = r.del.run(res.locals.tenant, 'subscription', req.params.id).changes > 0;
    if (!gone) return problem(res, 404, 'CORE_NOT_FOUND', 'Subscription not found');
    res.status(204).end();
  });

  app.use((_req: Request, res: Response) => problem(res, 404, 'CORE_NOT_FOUND', 'Not found'));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number }).status;
    if (status && status < 500) return problem(res, status, 'CORE_BAD_REQUEST', 'Bad request');
    problem(res, 500, 'CORE_INTERNAL', 'Internal error');
  });
  return { app, close: () => db.close() };
}

function pick(o: unknown, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (o && typeof o === 'object') for (const k of keys) if (k in o) out[k] = (o as Record<string, unknown>)[k];
  return out;
}
