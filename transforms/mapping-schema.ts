// The JSON Schema of mapping documents (published as transforms/mapping.schema.json for editors;
// a test keeps the two equal).
import { COERCIONS } from './coerce.ts';

const PATH = { type: 'string', pattern: '^(\\$\\.)?[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*$', description: 'Dotted path in the source; `$.` starts from the root record inside `each`/`records`.' };

export const MAPPING_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://quant.dev/schemas/mapping.json',
  title: 'Quant Gateway mapping document',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'source', 'target', 'fields'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9-]+(\\.[a-z0-9-]+)+$', description: 'system.object, e.g. salesforce.work-order.' },
    description: { type: 'string' },
    source: { enum: ['work-order', 'customer', 'invoice'], description: 'The canonical record mapped from.' },
    target: {
      type: 'object',
      additionalProperties: false,
      required: ['system', 'object'],
      properties: {
        system: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' },
        object: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_]*$' },
      },
    },
    records: { ...PATH, description: 'Emit one target record per element of this list (line items).' },
    fields: { $ref: '#/$defs/fields' },
  },
  $defs: {
    fields: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
      additionalProperties: { $ref: '#/$defs/field' },
    },
    field: {
      type: 'object',
      additionalProperties: false,
      properties: {
        path: PATH,
        expr: { type: 'string', minLength: 1, description: 'A JSONata expression over the current record (`$root` is the whole source).' },
        const: { description: 'A fixed value.' },
        lookup: {
          type: 'object',
          additionalProperties: false,
          required: ['type', 'path'],
          properties: { type: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' }, path: PATH },
          description: "The target system's id of the Quant record at `path`, from the hub's id map.",
        },
        product: { type: 'array', items: PATH, minItems: 2, description: 'Multiply these values (a money value times numbers stays money).' },
        fields: { $ref: '#/$defs/fields' },
        each: PATH,
        map: { type: 'object', description: 'Value map: source value → target value.' },
        reverseMap: { type: 'object', description: 'Target value → source value, where `map` is not one-to-one.' },
        default: { description: 'Used when the source has no value.' },
        required: { type: 'boolean', description: 'Refuse the record when there is no value.' },
        type: { enum: [...COERCIONS], description: 'Coercion applied to the value.' },
        zone: { type: 'string', description: 'IANA zone for type date.' },
        country: { type: 'string', pattern: '^[A-Z]{2}$', description: 'Default country for type phone-e164.' },
        currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'Currency for money-minor.' },
        when: { type: 'string', minLength: 1, description: 'JSONata condition; the field is set only when true.' },
        truncate: { type: 'integer', minimum: 1, description: 'Cut text to this length instead of refusing it.' },
        reverse: { type: 'boolean', description: 'false: not carried back by the reverse mapping.' },
      },
      oneOf: [
        { required: ['path'] },
        { required: ['expr'] },
        { required: ['const'] },
        { required: ['lookup'] },
        { required: ['product'] },
        { required: ['fields'], not: { required: ['each'] } },
        { required: ['each', 'fields'] },
      ],
      dependentRequired: { each: ['fields'] },
    },
  },
} as const;
