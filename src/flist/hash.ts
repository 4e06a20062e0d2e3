import { createBLAKE2b, type IHasher } from 'hash-wasm';
import { FlistError } from './errors.js';

// One wasm instance is enough: init, update and digest run without awaiting in between.
let hasher: IHasher | undefined;

/** Loads the wasm hasher; blake2b256() needs it first. */
export async function loadHasher(): Promise<void> {
  hasher ??= await createBLAKE2b(256);
}

/** BLAKE2b with a 32-byte digest (not truncated blake2b-512, which differs). */
export function blake2b256(data: Uint8Array): Buffer {
  if (hasher === undefined) throw new FlistError('SETUP', 'blake2b256: call loadHasher() first');
  hasher.init();
  hasher.update(data);
  return Buffer.from(hasher.digest('binary'));
}
