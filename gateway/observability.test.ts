import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from './observability.ts';

test('the logger redacts credentials wherever a line could carry them', () => {
  const lines: string[] = [];
  const logger = createLogger({ destination: { write: (s: string) => void lines.push(s) } });
  logger.warn({
    req: { headers: { authorization: 'Bearer tok-1', 'x-api-key': 'qk_live_abc', cookie: 'sid=2' } },
    headers: { authorization: 'Basic cred-3' },
    client: { secret: 'cs-4', token: 'tok-5' },
    adminToken: 'adm-6',
  }, 'something went wrong');
  const out = lines.join('');
  for (const secret of ['tok-1', 'qk_live_abc', 'sid=2', 'cred-3', 'cs-4', 'tok-5', 'adm-6']) assert.ok(!out.includes(secret), secret);
  assert.match(out, /\[redacted\]/);
});
