// API key material: generation and hashing. A key reads `qk_<12 hex>_<43 base64url>`; the
// first part is its public id (shown in listings and logs), the whole key is stored only as
// a SHA-256 hash. Keys carry 256 random bits, so a fast hash is enough (no password KDF).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY_RE = /^(qk_[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface GeneratedKey {
  id: string;
  /** The full secret; shown once, never stored. */
  key: string;
  hash: string;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): GeneratedKey {
  const id = `qk_${randomBytes(6).toString('hex')}`;
  const key = `${id}_${randomBytes(32).toString('base64url')}`;
  return { id, key, hash: hashApiKey(key) };
}

/** The public id of a well-formed key, or undefined. */
export function parseApiKey(key: string): string | undefined {
  return KEY_RE.exec(key)?.[1];
}

export function hashApiKeyBytes(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

export function hashesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
