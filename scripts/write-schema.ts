// Writes config/gateway.schema.json from the policy registry (npm run schema).
import { writeFileSync } from 'node:fs';
import { POLICIES } from '../policies/index.ts';
import { buildConfigSchema } from '../gateway/config-schema.ts';

writeFileSync(new URL('../config/gateway.schema.json', import.meta.url), JSON.stringify(buildConfigSchema(POLICIES), null, 2) + '\n');
