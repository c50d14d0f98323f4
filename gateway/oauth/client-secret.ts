// OAuth client secrets: 256 random bits, shown once, stored as a SHA-256 hash (a fast hash is
// enough for secrets this long) and compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const hashClientSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

export const generateClientSecret = () => randomBytes(32).toString('base64url');

const DUMMY = hashClientSecret('no-such-client');

/** Whether `secret` is the client's; hashes even for an unknown client, so timing tells nothing. */
export function clientSecretMatches(secret: string, secretHash: string | null | undefined): boolean {
  const ok = timingSafeEqual(Buffer.from(hashClientSecret(secret), 'hex'), Buffer.from(secretHash ?? DUMMY, 'hex'));
  return ok && secretHash != null;
}
