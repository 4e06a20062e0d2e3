import { createCipheriv, createDecipheriv } from 'node:crypto';
import { compressSync, uncompressSync } from 'snappy';
import { FlistError } from './errors.js';
import { blake2b256 } from './hash.js';
import type { BlockRef } from './schema.js';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

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
  const cipher = createCipheriv('aes-256-gcm', key, key.subarray(0, NONCE_BYTES));
  const data = Buffer.concat([cipher.update(compressed), cipher.final(), cipher.getAuthTag()]);
  return { id: blake2b256(data), key, data };
}

/** The plaintext of a stored block, verified against both its id and its key. */
export function decodeBlock(block: BlockRef, data: Buffer): Buffer {
  if (data.length < TAG_BYTES || !blake2b256(data).equals(block.id)) {
    throw new FlistError('CORRUPT', 'content does not match its id');
  }
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', block.key, block.key.subarray(0, NONCE_BYTES));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    const compressed = Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]);
    plain = uncompressSync(compressed) as Buffer;
  } catch (err) {
    throw new FlistError('CORRUPT', 'does not decrypt or decompress', { cause: err });
  }
  if (!blake2b256(plain).equals(block.key)) throw new FlistError('CORRUPT', 'plaintext does not match its key');
  return plain;
}
