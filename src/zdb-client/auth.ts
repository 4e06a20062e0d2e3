import { createHash } from 'node:crypto';
import type { RespValue } from '../resp/reply-parser.js';
import { ZdbError } from './errors.js';

/** Sends one request on one connection (challenges are per connection). */
export type Send = (args: ReadonlyArray<Buffer | string | number>) => Promise<RespValue>;

/** How to present a password: `secure` uses the challenge so the password never crosses the wire. */
export interface Password {
  password: string;
  secure: boolean;
}

/**
 * 0-db's challenge-response: the server hands out a random nonce (`AUTH SECURE CHALLENGE`),
 * the client proves it knows the password without sending it:
 * hex(sha1("<challenge>:<password>")), used by `AUTH SECURE` and `SELECT name SECURE`.
 */
export function secureHash(challenge: string, password: string): string {
  return createHash('sha1').update(`${challenge}:${password}`).digest('hex');
}

async function challenge(send: Send): Promise<string> {
  const nonce = await send(['AUTH', 'SECURE', 'CHALLENGE']);
  if (typeof nonce !== 'string' || nonce.length === 0)
    throw new ZdbError('PROTOCOL', 'AUTH SECURE CHALLENGE: no challenge in reply');
  return nonce;
}

/** AUTH (admin). A server without an admin password makes everyone admin, so that is success too. */
export async function authenticate(send: Send, { password, secure }: Password): Promise<void> {
  try {
    if (secure) await send(['AUTH', 'SECURE', secureHash(await challenge(send), password)]);
    else await send(['AUTH', password]);
  } catch (err) {
    if (!(err instanceof ZdbError && err.code === 'AUTH_DISABLED')) throw err;
  }
}

/** SELECT a namespace, with its password when it has one. */
export async function selectNamespace(send: Send, name: string, pass?: Password): Promise<void> {
  if (!pass) await send(['SELECT', name]);
  else if (pass.secure) await send(['SELECT', name, 'SECURE', secureHash(await challenge(send), pass.password)]);
  else await send(['SELECT', name, pass.password]);
}
