import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWindowCounter, windowOf } from './quota.ts';

test('quota windows hold a whole month (no timer, so no 24.8-day cap)', async () => {
  let now = Date.parse('2026-12-01T00:00:00Z');
  const c = createWindowCounter(() => now);
  const w = windowOf('month', now);
  assert.equal(w.id, '2026-12');
  assert.equal(w.endsInSeconds, 31 * 86400);
  assert.equal(c.add(`app:${w.id}`, w.endsInSeconds), 1);
  now += 30 * 86400 * 1000; // 30 days later, same month
  assert.equal(c.add(`app:${w.id}`, windowOf('month', now).endsInSeconds), 2, 'the month still counts');
  now = Date.parse('2027-01-01T00:00:00Z');
  assert.equal(c.add(`app:${windowOf('month', now).id}`, windowOf('month', now).endsInSeconds), 1, 'a new month starts at 1');
});
