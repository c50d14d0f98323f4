// Writes the published JSON Schemas (npm run schema): config/gateway.schema.json from the policy
// registry, transforms/mapping.schema.json from the mapping engine.
import { writeFileSync } from 'node:fs';
import { POLICIES } from '../policies/index.ts';
import { buildConfigSchema } from '../gateway/config-schema.ts';
import { MAPPING_SCHEMA } from '../transforms/mapping-schema.ts';

writeFileSync(new URL('../config/gateway.schema.json', import.meta.url), JSON.stringify(buildConfigSchema(POLICIES), null, 2) + '\n');
writeFileSync(new URL('../transforms/mapping.schema.json', import.meta.url), JSON.stringify(MAPPING_SCHEMA, null, 2) + '\n');
