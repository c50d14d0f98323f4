// body-limit: the largest request body accepted. A declared Content-Length over the limit is
// refused before reading; a streamed body is cut off when it passes the limit. Emits
// GW_BODY_TOO_LARGE (413).
//
//   - policy: body-limit
//     config: { maxBytes: 262144 }
import { GatewayError } from '../errors.ts';
import { definePolicy } from '../contract.ts';

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export const bodyLimitPolicy = definePolicy<{ maxBytes: number }>({
  name: 'body-limit',
  phase: 'pre',
  description: 'Caps the request body size.',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      maxBytes: { type: 'integer', minimum: 0, maximum: 104857600, default: DEFAULT_BODY_LIMIT, description: 'Largest body accepted, in bytes.' },
    },
  },
  create(config) {
    const max = config.maxBytes;
    return function bodyLimit(ctx) {
      ctx.bodyLimit = max;
      const declared = ctx.req.headers['content-length'];
      if (declared !== undefined && Number(declared) > max) throw new GatewayError('GW_BODY_TOO_LARGE');
    };
  },
});
