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

/** Keys in a parsed value, or -1 when one of them is forbidden (as decoded, escapes and all). */
function countKeys(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  let n = 0;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const c = countKeys(v[i]);
      if (c < 0) return -1;
      n += c;
    }
    return n;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    if (FORBIDDEN.has(k)) return -1;
    const c = countKeys(o[k]);
    if (c < 0) return -1;
    n += 1 + c;
  }
  return n;
}

/** Colons that follow a closing quote (whitespace allowed): every key has one, a few strings do. */
function keyEndings(text: string): number {
  let n = 0;
  for (let i = text.indexOf(':'); i !== -1; i = text.indexOf(':', i + 1)) {
    let j = i - 1;
    let c = text.charCodeAt(j);
    while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = text.charCodeAt(--j);
    if (c === 0x22) n++;
  }
  return n;
}

/**
 * The same answer as findKeyProblems, cheaper when the body is clean: every key in the text
 * ends in `"` then `:`, so when the text has no more such endings than the parsed value has
 * keys, no key was repeated; forbidden keys are looked for in the parsed value, where escapes
 * are already decoded. Anything else (a repeat, a `":` inside a string, a forbidden key) takes
 * the full scan.
 */
export function keyProblemsOf(text: string, parsed: unknown): KeyProblem[] {
  const keys = countKeys(parsed);
  if (keys >= 0 && keyEndings(text) === keys) return [];
  return findKeyProblems(text);
}
