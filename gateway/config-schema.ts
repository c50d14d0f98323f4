// The JSON Schema of the gateway's YAML file, composed from the fixed parts below and each
// registered policy's own config schema. `npm run schema` writes it to
// config/gateway.schema.json for editors; a test keeps that file equal to this function.
import type { PolicyDefinition } from '../policies/contract.ts';

const NAME = { type: 'string', pattern: '^[a-z][a-z0-9-]{0,62}$' };
const ENV_REF = {
  type: 'object',
  additionalProperties: false,
  required: ['env'],
  properties: { env: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$', description: 'Environment variable holding the value.' } },
};

export function buildConfigSchema(policies: readonly PolicyDefinition<any>[]): Record<string, unknown> {
  const policyEntry = {
    type: 'object',
    additionalProperties: false,
    required: ['policy'],
    properties: {
      policy: { enum: policies.map((p) => p.name), description: 'Policy name.' },
      enabled: { type: 'boolean', default: true, description: 'false switches off an inherited policy of this name.' },
      config: { type: 'object', default: {}, description: "The policy's own settings." },
    },
    allOf: policies.map((p) => ({
      if: { properties: { policy: { const: p.name } }, required: ['policy'] },
      then: { properties: { config: { ...p.configSchema, description: p.description } } },
    })),
  };
  const policyList = { type: 'array', items: { $ref: '#/$defs/policyEntry' }, default: [] };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://quant.dev/schemas/gateway-config.json',
    title: 'Quant Gateway configuration',
    type: 'object',
    additionalProperties: false,
    required: ['upstreams', 'apis'],
    properties: {
      server: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          trustedProxies: {
            type: 'array',
            items: { type: 'string', format: 'cidr' },
            default: [],
            description: 'Proxies whose X-Forwarded-For is believed; the client IP is the socket peer otherwise.',
          },
          requestIdHeader: { type: 'string', default: 'x-request-id', description: 'Header carrying the request id.' },
          mode: {
            enum: ['production', 'development'],
            default: 'production',
            description: 'development: upstream 2xx JSON responses are checked against the contract; mismatches are logged and counted, traffic is not changed.',
          },
        },
      },
      oauth: {
        type: 'object',
        additionalProperties: false,
        required: ['issuer', 'audience'],
        description: "The gateway's OAuth 2.0 authorization server (client credentials, JWT access tokens).",
        properties: {
          issuer: {
            type: 'string',
            pattern: '^(https?://[^?#]+[^/?#]|\\$\\{[A-Z_][A-Z0-9_]*\\})$',
            description: 'The issuer URL clients discover it by (no trailing slash), or `${VAR}`.',
          },
          audience: { type: 'string', minLength: 1, description: 'The `aud` of access tokens.' },
          algorithm: { enum: ['ES256', 'RS256'], default: 'ES256', description: 'Algorithm of new signing keys.' },
          maxTokenLifetimeSeconds: { type: 'integer', minimum: 60, maximum: 86400, default: 3600, description: 'Longest access token; a retired key is published this long.' },
          keyRotationDays: { type: 'number', minimum: 0, default: 0, description: 'Rotate the signing key on this schedule; 0 = only when asked.' },
          bruteForce: {
            type: 'object',
            additionalProperties: false,
            default: {},
            description: 'Failed client authentications allowed before 429.',
            properties: {
              perClient: { type: 'integer', minimum: 1, default: 10, description: 'Failures per client_id per window.' },
              perIp: { type: 'integer', minimum: 1, default: 50, description: 'Failures per client IP per window.' },
              windowSeconds: { type: 'integer', minimum: 1, default: 300, description: 'The window.' },
            },
          },
        },
      },
      upstreams: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'target'],
          properties: {
            name: NAME,
            target: {
              type: 'string',
              pattern: '^(https?://[^/?#]+|\\$\\{[A-Z_][A-Z0-9_]*\\})$',
              description: 'Base URL with no path, or `${VAR}` to take it from the environment.',
            },
            connectTimeoutMs: { type: 'integer', minimum: 1, maximum: 60000, default: 2000, description: 'Time allowed to open a connection.' },
            timeoutMs: { type: 'integer', minimum: 1, maximum: 600000, default: 30000, description: 'Time allowed for the response to start.' },
            keepAlive: {
              type: 'object',
              additionalProperties: false,
              default: {},
              properties: {
                maxSockets: { type: 'integer', minimum: 1, default: 256, description: 'Open connections at most.' },
                maxFreeSockets: { type: 'integer', minimum: 0, default: 64, description: 'Idle connections kept.' },
                idleMs: { type: 'integer', minimum: 100, default: 30000, description: 'How long an idle connection is kept.' },
              },
            },
            headers: {
              type: 'object',
              default: {},
              description: 'Headers added to every upstream request; secret values must come from the environment.',
              additionalProperties: { oneOf: [{ type: 'string' }, ENV_REF] },
            },
          },
        },
      },
      policies: { ...policyList, description: 'Applied to every route.' },
      apis: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'versions'],
          properties: {
            name: NAME,
            policies: policyList,
            versions: {
              type: 'array',
              minItems: 1,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['name', 'basePath', 'upstream', 'routes'],
                properties: {
                  name: NAME,
                  basePath: { type: 'string', pattern: '^(/[A-Za-z0-9._~-]+)+$', description: 'Public prefix, e.g. /v1.' },
                  upstream: { ...NAME, description: 'Name of an upstream.' },
                  upstreamPath: {
                    type: 'string',
                    pattern: '^(/[A-Za-z0-9._~-]+)*$',
                    default: '',
                    description: 'Replaces basePath when forwarding: /v1/x → {upstreamPath}/x.',
                  },
                  openapi: { type: 'string', description: 'OpenAPI 3.1 document, relative to this file.' },
                  mappings: { type: 'string', description: 'Folder of mapping documents between this version and the upstream shape, relative to this file.' },
                  caseInsensitive: { type: 'boolean', default: false, description: 'Match literal path segments regardless of case.' },
                  deprecation: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['deprecated'],
                    description: 'Announces the end of this version: Deprecation, Sunset and Link headers, 410 after the sunset.',
                    properties: {
                      deprecated: { type: 'string', format: 'date-time', description: 'From when responses carry Deprecation (RFC 9745).' },
                      sunset: { type: 'string', format: 'date-time', description: 'When the version stops answering (Sunset, RFC 8594).' },
                      successor: { type: 'string', pattern: '^(/|https?://)', description: 'The version to move to (Link rel="successor-version").' },
                      afterSunset: { enum: ['gone', 'serve'], default: 'gone', description: 'gone = 410 after the sunset; serve = keep answering.' },
                    },
                  },
                  policies: policyList,
                  routes: {
                    type: 'array',
                    minItems: 1,
                    items: {
                      type: 'object',
                      additionalProperties: false,
                      required: ['method', 'path'],
                      properties: {
                        id: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_.-]*$', description: 'Defaults to the operationId or METHOD path.' },
                        method: { enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] },
                        path: {
                          type: 'string',
                          pattern: '^(/([A-Za-z0-9._~-]+|\\{[A-Za-z_][A-Za-z0-9_]*\\}))+$|^/$',
                          description: 'Template relative to basePath, e.g. /work-orders/{id}.',
                        },
                        policies: policyList,
                        transform: {
                          type: 'object',
                          additionalProperties: false,
                          description: "Maps this version's shape to and from the upstream's with the version's mapping documents.",
                          properties: {
                            request: { type: 'string', description: 'Mapping whose reverse turns the request body into the upstream shape.' },
                            response: { type: 'string', description: 'Mapping that turns the upstream response body (or each list item) into this version.' },
                            pagination: { enum: ['cursor'], description: 'cursor: ?cursor= ↔ upstream ?offset=, and { data, nextCursor } ↔ { items, total, limit, offset }.' },
                            query: {
                              type: 'object',
                              additionalProperties: { type: 'string' },
                              description: 'Query parameter → field of the response mapping whose value map translates it.',
                            },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    $defs: { policyEntry },
  };
}
