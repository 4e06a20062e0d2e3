import crypto from 'node:crypto';
import fs from 'node:fs';

/** A new bearer secret: 32 random bytes, base64url. */
export function newToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** The token kept in `file` (0600), made there on first use; never printed. */
export function loadOrCreateTokenFile(file: string): string {
  if (!fs.existsSync(file)) {
    try {
      fs.writeFileSync(file, `${newToken()}\n`, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // made by a concurrent start
    }
  }
  return fs.readFileSync(file, 'utf8').trim();
}

/** What is stored instead of a token: its SHA-256, hex. */
export function tokenHash(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

/**
 * Constant-time equality of a presented token with a stored hash: both sides are hashed to the
 * same length first, so neither the content nor the length of the secret leaks through timing.
 */
export function tokenMatchesHash(presented: string, storedHash: string): boolean {
  const a = Buffer.from(tokenHash(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** Constant-time equality of two tokens. */
export function tokensEqual(presented: string, expected: string): boolean {
  return tokenMatchesHash(presented, tokenHash(expected));
}
