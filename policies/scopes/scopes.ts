// scopes: the scopes a route requires of the caller's credential (RFC 6750). Missing one →
// 403 GW_AUTH_INSUFFICIENT_SCOPE with `WWW-Authenticate: Bearer error="insufficient_scope"`;
// no identity → 401 GW_AUTH_REQUIRED.
//
//   - policy: scopes
//     config: { required: [work-orders:write] }
import { GatewayError } from '../errors.ts';
import { definePolicy } from '../contract.ts';

export const scopesPolicy = definePolicy<{ required: string[] }>({
  name: 'scopes',
  phase: 'authorize',
  description: 'Requires scopes of the credential.',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['required'],
    properties: {
      required: {
        type: 'array',
        items: { type: 'string', pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$' },
        minItems: 1,
        uniqueItems: true,
        description: 'Every scope listed must be held.',
      },
    },
  },
  create(config) {
    const challenge = `Bearer error="insufficient_scope", scope="${config.required.join(' ')}"`;
    return function scopes(ctx) {
      const id = ctx.identity;
      if (!id) throw new GatewayError('GW_AUTH_REQUIRED', { headers: { 'WWW-Authenticate': 'Bearer' } });
      const missing = config.required.filter((s) => !id.scopes.includes(s));
      if (missing.length > 0) {
        throw new GatewayError('GW_AUTH_INSUFFICIENT_SCOPE', {
          detail: `This call needs the scope${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}.`,
          headers: { 'WWW-Authenticate': challenge },
        });
      }
    };
  },
});
