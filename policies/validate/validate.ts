// validate: checks the request against its operation in the version's OpenAPI 3.1 document
// (compiled once at load): path, query and header parameters, then the JSON body. Every error
// is listed with a JSON pointer (`/query/limit`, `/body/lineItems/0/quantity`). The body bytes
// read here are forwarded unchanged. Emits GW_VALIDATION_FAILED, GW_MALFORMED_JSON,
// GW_JSON_FORBIDDEN_KEY (400), GW_UNSUPPORTED_MEDIA_TYPE (415), GW_BODY_TOO_LARGE (413).
//
//   - policy: validate
//     config: {}
import { GatewayError, type ProblemFieldError } from '../errors.ts';
import { definePolicy, type RequestContext } from '../contract.ts';
import { keyProblemsOf } from './json-guard.ts';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  const cl = headers['content-length'];
  return (cl !== undefined && cl !== '0') || headers['transfer-encoding'] !== undefined;
}

export const validatePolicy = definePolicy<{ body: boolean }>({
  name: 'validate',
  phase: 'validate',
  description: 'Validates requests against the OpenAPI contract of their version.',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      body: { type: 'boolean', default: true, description: 'Also read and validate JSON bodies.' },
    },
  },
  checkRoute(route) {
    return route.operation ? undefined : 'no operation in the OpenAPI document matches this route';
  },
  create(config) {
    // The body is checked in one step after it has been read: parsed once, its keys checked,
    // then validated; every refusal lists all its reasons.
    const checkBody = (ctx: RequestContext, raw: Buffer, paramErrors: readonly ProblemFieldError[]) => {
      const text = raw.toString('utf8');
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new GatewayError('GW_MALFORMED_JSON');
      }
      const keyProblems = keyProblemsOf(text, value);
      if (keyProblems.length > 0) {
        throw new GatewayError('GW_JSON_FORBIDDEN_KEY', {
          errors: keyProblems.map((p) => ({ pointer: `/body${p.pointer}`, message: p.message })),
        });
      }
      const bodyErrors = ctx.route.operation!.validateBody(value);
      if (paramErrors.length > 0 || bodyErrors.length > 0) {
        throw new GatewayError('GW_VALIDATION_FAILED', { errors: [...paramErrors, ...bodyErrors] });
      }
    };
    // Synchronous unless there is a body to read, so a GET never waits a tick here.
    return function validate(ctx) {
      const op = ctx.route.operation!;
      const errors = op.validateParams({ path: ctx.params, rawQuery: ctx.rawQuery, headers: ctx.req.headers });
      if (config.body && op.hasBody) {
        if (hasBody(ctx.req.headers)) {
          const type = ctx.req.headers['content-type'];
          if (type !== 'application/json' && (typeof type !== 'string' || !JSON_TYPE.test(type))) {
            throw new GatewayError('GW_UNSUPPORTED_MEDIA_TYPE', { detail: 'Send the body as application/json.' });
          }
          return ctx.readBody().then((raw) => checkBody(ctx, raw, errors));
        }
        if (op.bodyRequired) {
          throw new GatewayError('GW_VALIDATION_FAILED', { errors: [...errors, { pointer: '/body', message: 'is required' }] });
        }
      }
      if (errors.length > 0) throw new GatewayError('GW_VALIDATION_FAILED', { errors: [...errors] });
    };
  },
});
