import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AgentError } from './errors.js';

/**
 * An ed25519 identity, as Zero-OS nodes have: a 32-byte seed persisted in a 0600 file, created
 * on first start and reused ever after. The raw public key in hex is the id (of a node, or of
 * a store talking to agents).
 */
export interface Identity {
  /** Hex of the 32-byte raw public key. */
  readonly id: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

const SEED_BYTES = 32;
// DER prefixes that wrap a raw ed25519 seed / public key into PKCS#8 / SPKI (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function identityFromSeed(seed: Buffer): Identity {
  if (seed.length !== SEED_BYTES)
    throw new AgentError('CONFIG', `an ed25519 seed is ${SEED_BYTES} bytes, not ${seed.length}`);
  const privateKey = crypto.createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = crypto.createPublicKey(privateKey);
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
  return { id: raw.toString('hex'), privateKey, publicKey };
}

/** The public key of an id (64 hex digits); throws BAD_SIGNATURE for anything else. */
export function publicKeyOf(id: string): KeyObject {
  if (!/^[0-9a-f]{64}$/.test(id))
    throw new AgentError('BAD_SIGNATURE', 'a signer id is 64 lowercase hex digits (an ed25519 public key)');
  return crypto.createPublicKey({
    key: Buffer.concat([SPKI_PREFIX, Buffer.from(id, 'hex')]),
    format: 'der',
    type: 'spki',
  });
}

/** Reads the seed at `file`, or creates it (0600, its directory 0700) when missing. */
export function loadOrCreateIdentity(file: string): Identity {
  let seed: Buffer;
  try {
    seed = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    seed = crypto.randomBytes(SEED_BYTES);
    // 'wx': two processes starting at once must not each write their own key.
    try {
      fs.writeFileSync(file, seed, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      seed = fs.readFileSync(file);
    }
  }
  if (seed.length !== SEED_BYTES)
    throw new AgentError(
      'CONFIG',
      `identity file ${file}: expected a ${SEED_BYTES}-byte seed, found ${seed.length} bytes`,
    );
  return identityFromSeed(seed);
}
