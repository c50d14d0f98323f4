import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBuckets } from './token-bucket.ts';

test('a bucket allows its burst, then refills continuously at its rate', async () => {
  let now = 1_000_000;
  const b = createMemoryBuckets({ now: () => now });
  const results = [];
  for (let i = 0; i < 6; i++) results.push(await b.take('k', 5, 2, 1));
  assert.deepEqual(results.map((r) => r.allowed), [true, true, true, true, true, false]);
  assert.equal(results[4]!.remaining, 0);
  assert.equal(results[5]!.retryAfterMs, 500);
  now += 499;
  assert.equal((await b.take('k', 5, 2, 1)).allowed, false);
  now += 1;
  const r = await b.take('k', 5, 2, 1);
  assert.equal(r.allowed, true);
  assert.equal(r.resetMs, 2500); // 5 tokens missing at 2/s
  now += 60_000;
  assert.equal((await b.take('k', 5, 2, 1)).remaining, 4, 'refill stops at capacity');
});

test('buckets are independent per key and bounded in number', async () => {
  let now = 0;
  const b = createMemoryBuckets({ now: () => now, maxKeys: 3 });
  for (const k of ['a', 'b', 'c', 'd']) assert.equal((await b.take(k, 1, 1, 1)).allowed, true);
  assert.equal((await b.take('d', 1, 1, 1)).allowed, false);
});
