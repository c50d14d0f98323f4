// Finds what JSON.parse silently accepts but the gateway refuses: a key repeated in one object
// (the upstream may keep the other copy than the one validated) and `__proto__` / `constructor`
// / `prototype` keys (prototype pollution in upstreams that merge objects). Runs on text that
// JSON.parse has already accepted, so it only has to track strings and nesting.

export interface KeyProblem {
  pointer: string;
  message: string;
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

function escape(seg: string): string {
  return seg.replace(/~/g, '~0').replace(/\//g, '~1');
}

interface Frame {
  kind: 'object' | 'array';
  keys?: Set<string>;
  index: number;
  key?: string;
}

export function findKeyProblems(text: string, limit = 20): KeyProblem[] {
  const problems: KeyProblem[] = [];
  const stack: Frame[] = [];
  // Built only when a problem is found: the common case pays for a Set lookup per key.
  const pointer = () =>
    stack
      .map((f) => (f.kind === 'array' ? String(f.index) : f.key !== undefined ? escape(f.key) : ''))
      .join('/');
  let i = 0;
  let expectKey = false;
  while (i < text.length && problems.length < limit) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      stack.push({ kind: 'object', keys: new Set(), index: 0 });
      expectKey = true;
      i++;
    } else if (c === 0x5b /* [ */) {
      stack.push({ kind: 'array', index: 0 });
      expectKey = false;
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      i++;
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.kind === 'array') top.index++;
      else expectKey = true;
      i++;
    } else if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      while (j < text.length) {
        const d = text.charCodeAt(j);
        if (d === 0x5c) {
          escaped = true;
          j += 2;
          continue;
        }
        if (d === 0x22) break;
        j++;
      }
      if (expectKey) {
        const raw = text.slice(i, j + 1);
        const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        const top = stack[stack.length - 1]!;
        top.key = key;
        if (FORBIDDEN.has(key)) problems.push({ pointer: `/${pointer()}`, message: 'is a forbidden key' });
        else if (top.keys!.has(key)) problems.push({ pointer: `/${pointer()}`, message: 'is a duplicate key' });
        top.keys!.add(key);
        expectKey = false;
      }
      i = j + 1;
    } else {
      i++;
    }
  }
  return problems;
}

function countKeys(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  let n = 0;
  if (Array.isArray(v)) {
    for (const x of v) n += countKeys(x);
    return n;
  }
  for (const k in v as Record<string, unknown>) n += 1 + countKeys((v as Record<string, unknown>)[k]);
  return n;
}

const KEY_END = /"\s*:/g;
const SUSPECT = /__proto__|constructor|prototype/;

/**
 * The same answer as findKeyProblems, cheaper when the body is clean: every key in the text
 * ends in `"` then `:`, so when the text has no more such endings than the parsed value has
 * keys, no key was repeated. Anything else (a repeat, a `":` inside a string, a suspect word)
 * takes the full scan.
 */
export function keyProblemsOf(text: string, parsed: unknown): KeyProblem[] {
  if (!SUSPECT.test(text)) {
    KEY_END.lastIndex = 0;
    let endings = 0;
    while (KEY_END.exec(text)) endings++;
    if (endings === countKeys(parsed)) return [];
  }
  return findKeyProblems(text);
}
