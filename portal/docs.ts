// API documentation on the public listener: one Swagger UI at /docs with a version picker (one
// entry per API version in the running config), /docs/<version> opening that version, and the
// raw documents at /openapi/<version>.json and .yaml (and /openapi/<api>/<version>.*). Each
// served document names its gateway base path as its server, so "Try it out" calls go through
// the gateway with the API key or bearer token entered in the UI.
import express from 'express';
import swaggerUi from 'swagger-ui-express';
import { stringify as toYaml } from 'yaml';

export interface DocsSource {
  /** API, version name, base path, and the parsed OpenAPI document. */
  versions(): { api: string; version: string; basePath: string; document: Readonly<Record<string, unknown>> }[];
}

export function createDocsApp(source: DocsSource): express.Express {
  const app = express();
  app.disable('x-powered-by');
  let cache: { key: string; ui: express.RequestHandler[]; docs: Map<string, Record<string, unknown>> } | undefined;

  const current = () => {
    const versions = source.versions();
    const key = versions.map((v) => `${v.api}/${v.version}@${v.basePath}`).join(',');
    if (cache?.key === key && cache.docs.size > 0) {
      // Documents can change on reload without the list changing: refresh them.
      for (const v of versions) cache.docs.set(`${v.api}/${v.version}`, { ...v.document, servers: [{ url: v.basePath }] });
      return cache;
    }
    const names = new Map<string, number>();
    for (const v of versions) names.set(v.version, (names.get(v.version) ?? 0) + 1);
    const docs = new Map<string, Record<string, unknown>>();
    const urls = versions.map((v) => {
      docs.set(`${v.api}/${v.version}`, { ...v.document, servers: [{ url: v.basePath }] });
      const unique = names.get(v.version) === 1;
      if (unique) docs.set(v.version, docs.get(`${v.api}/${v.version}`)!);
      return { url: unique ? `/openapi/${v.version}.json` : `/openapi/${v.api}/${v.version}.json`, name: unique ? v.version : `${v.api} ${v.version}` };
    });
    const opts = { explorer: true, customSiteTitle: 'Quant Partner API', swaggerOptions: { urls, persistAuthorization: true, tryItOutEnabled: false } };
    cache = { key, docs, ui: [...(swaggerUi.serveFiles(undefined, opts) as express.RequestHandler[]), swaggerUi.setup(undefined, opts)] };
    return cache;
  };

  app.get(/^\/openapi\/(.+)\.(json|yaml)$/, (req, res, next) => {
    const m = /^\/openapi\/(.+)\.(json|yaml)$/.exec(req.path)!;
    const doc = current().docs.get(m[1]!);
    if (!doc) return next();
    if (m[2] === 'yaml') res.type('application/yaml').send(toYaml(doc));
    else res.json(doc);
  });
  app.get(/^\/docs\/([A-Za-z0-9._-]+)$/, (req, res, next) => {
    const name = req.path.slice('/docs/'.length);
    if (!current().docs.has(name) || name.includes('/')) return next();
    res.redirect(302, `/docs/?urls.primaryName=${encodeURIComponent(name)}`);
  });
  app.get(/^\/docs$/, (_req, res) => res.redirect(301, '/docs/'));
  app.use('/docs', (req, res, next) => {
    const ui = current().ui;
    let i = 0;
    const step = (err?: unknown): void => {
      if (err) return next(err);
      const h = ui[i++];
      if (!h) return next();
      h(req, res, step);
    };
    step();
  });
  app.use((_req, res) => {
    res.status(404).type('application/problem+json').json({ type: 'https://docs.quant.dev/errors#GW_NOT_FOUND', title: 'No route matches this path', status: 404, code: 'GW_NOT_FOUND' });
  });
  return app;
}
