// cors: answers preflights and adds CORS headers for allowed origins. A preflight from an
// origin not listed gets 403 GW_CORS_DENIED; a simple request from one is served without CORS
// headers (the browser then withholds the response).
//
//   - policy: cors
//     config: { allowOrigins: ["https://app.example.com"], allowCredentials: false }
import { GatewayError } from '../errors.ts';
import { definePolicy } from '../contract.ts';

interface CorsConfig {
  allowOrigins: string[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  allowCredentials: boolean;
  maxAgeSeconds: number;
}

export const corsPolicy = definePolicy<CorsConfig>({
  name: 'cors',
  phase: 'pre',
  description: 'Cross-origin resource sharing for browser clients.',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['allowOrigins'],
    properties: {
      allowOrigins: {
        type: 'array',
        minItems: 1,
        items: { type: 'string', pattern: '^(\\*|https?://[^/\\s]+)$' },
        description: 'Exact origins, or "*" for any (never with credentials).',
      },
      allowMethods: {
        type: 'array',
        items: { enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] },
        default: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
        description: 'Methods a preflight may ask for.',
      },
      allowHeaders: {
        type: 'array',
        items: { type: 'string', pattern: '^[A-Za-z0-9-]+$' },
        default: ['Authorization', 'Content-Type', 'X-API-Key', 'X-Request-Id', 'traceparent'],
        description: 'Request headers a preflight may ask for.',
      },
      exposeHeaders: {
        type: 'array',
        items: { type: 'string', pattern: '^[A-Za-z0-9-]+$' },
        default: ['X-Request-Id', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy', 'Retry-After'],
        description: 'Response headers scripts may read.',
      },
      allowCredentials: { type: 'boolean', default: false, description: 'Send Access-Control-Allow-Credentials.' },
      maxAgeSeconds: { type: 'integer', minimum: 0, maximum: 86400, default: 600, description: 'Preflight cache time.' },
    },
  },
  create(config) {
    const any = config.allowOrigins.includes('*');
    if (any && config.allowCredentials) throw new Error('cors: "*" cannot be combined with allowCredentials');
    const origins = new Set(config.allowOrigins);
    const allowHeaders = new Set(config.allowHeaders.map((h) => h.toLowerCase()));
    const methods = config.allowMethods.join(', ');
    const expose = config.exposeHeaders.join(', ');
    return function cors(ctx) {
      const origin = ctx.req.headers.origin;
      if (typeof origin !== 'string') return;
      const allowed = any || origins.has(origin);
      const preflight = ctx.method === 'OPTIONS' && ctx.req.headers['access-control-request-method'] !== undefined;
      if (!allowed) {
        if (preflight) throw new GatewayError('GW_CORS_DENIED');
        return;
      }
      const h = ctx.responseHeaders;
      h['Access-Control-Allow-Origin'] = any ? '*' : origin;
      if (!any) h.Vary = 'Origin';
      if (config.allowCredentials) h['Access-Control-Allow-Credentials'] = 'true';
      if (!preflight) {
        h['Access-Control-Expose-Headers'] = expose;
        return;
      }
      const asked = String(ctx.req.headers['access-control-request-headers'] ?? '')
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean);
      if (asked.some((a) => !allowHeaders.has(a))) throw new GatewayError('GW_CORS_DENIED');
      h['Access-Control-Allow-Methods'] = methods;
      h['Access-Control-Allow-Headers'] = config.allowHeaders.join(', ');
      h['Access-Control-Max-Age'] = String(config.maxAgeSeconds);
      ctx.reply = { status: 204 };
    };
  },
});
