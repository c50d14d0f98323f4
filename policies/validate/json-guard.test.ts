import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findKeyProblems, keyProblemsOf } from './json-guard.ts';

test('duplicate keys are found at any depth with their pointer', () => {
  assert.deepEqual(findKeyProblems('{"a":1,"b":{"c":[{"d":1,"d":2}]},"a":3}'), [
    { pointer: '/b/c/0/d', message: 'is a duplicate key' },
    { pointer: '/a', message: 'is a duplicate key' },
  ]);
});

test('escaped spellings of one key count as the same key', () => {
  assert.equal(findKeyProblems('{"ab":1,"\\u0061b":2}').length, 1);
});

test('prototype keys are refused, strings that merely contain them are not', () => {
  assert.deepEqual(findKeyProblems('{"x":{"__proto__":{"admin":true}}}'), [{ pointer: '/x/__proto__', message: 'is a forbidden key' }]);
  assert.equal(findKeyProblems('{"constructor":1}').length, 1);
  assert.deepEqual(findKeyProblems('{"note":"__proto__ \\"a\\":1, \\"a\\":2","k":["a","a"]}'), []);
});

test('the quick check agrees with the full scan, including on strings that look like keys', () => {
  const cases = [
    '{"a":1,"b":{"c":[{"d":1,"e":2}]}}',
    '{"a":1,"a":2}',
    '{"x":{"y":1,"y":2}}',
    '{"note":"looks like \\"k\\": 1","k":1}',
    '{"__proto__":{}}',
    '{"text":"constructor"}',
    '[{"a":1},{"a":1}]',
    '{ "a" : 1 ,\n "b"\t: 2 }',
    '{"\\u005f_proto__":{"admin":true}}',
    '{"a":{"\\u0063onstructor":1}}',
    '{"a":1,"\\u0061":2}',
    '{"at":"10:00","url":"https://x.example/a:b"}',
  ];
  for (const text of cases) assert.deepEqual(keyProblemsOf(text, JSON.parse(text)), findKeyProblems(text), text);
});

test('a forbidden key spelled with escapes is refused by the quick check too', () => {
  const text = '{"\\u005f_proto__":{"admin":true}}';
  assert.deepEqual(keyProblemsOf(text, JSON.parse(text)), [{ pointer: '/__proto__', message: 'is a forbidden key' }]);
});
