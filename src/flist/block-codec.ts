import { compressSync, uncompressSync } from 'snappy';
import { aesGcm, KEY_BYTES, NONCE_BYTES, TAG_BYTES } from '../util/aes-gcm.js';
import { FlistError } from './errors.js';
import { blake2b256 } from './hash.js';
import type { BlockRef } from './schema.js';

const NO_AAD = new Uint8Array(0);

export interface EncodedBlock extends BlockRef {
  /** What the store keeps under `id`: AES-256-GCM ciphertext with the 16-byte tag appended. */
  data: Buffer;
}

/**
 * rfs's block format: key = blake2b-256(plain), raw snappy, AES-256-GCM under key with the
 * nonce taken from the key (convergent: equal plaintext, equal ciphertext), id = blake2b-256
 * of the ciphertext. Load the hasher (hash.ts) first.
 */
export function encodeBlock(plain: Uint8Array): EncodedBlock {
  const key = blake2b256(plain);
  const compressed = compressSync(Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength));
  const data = Buffer.allocUnsafe(compressed.length + TAG_BYTES);
  aesGcm().seal(key, key.subarray(0, NONCE_BYTES), NO_AAD, compressed, data);
  return { id: blake2b256(data), key, data };
}

/** The plaintext of a stored block, verified against both its id and its key. */
export function decodeBlock(block: BlockRef, data: Buffer): Buffer {
  if (data.length < TAG_BYTES || !blake2b256(data).equals(block.id)) {
    throw new FlistError('CORRUPT', 'content does not match its id');
  }
  const compressed = Buffer.allocUnsafe(data.length - TAG_BYTES);
  if (
    block.key.length !== KEY_BYTES ||
    !aesGcm().open(block.key, block.key.subarray(0, NONCE_BYTES), NO_AAD, data, compressed)
  ) {
    throw new FlistError('CORRUPT', 'does not decrypt');
  }
  let plain: Buffer;
  try {
    plain = uncompressSync(compressed) as Buffer;
  } catch (err) {
    throw new FlistError('CORRUPT', 'does not decompress', { cause: err });
  }
  if (!blake2b256(plain).equals(block.key)) throw new FlistError('CORRUPT', 'plaintext does not match its key');
  return plain;
}
