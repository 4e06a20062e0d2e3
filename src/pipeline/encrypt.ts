import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { PipelineError } from './errors.js';

/** AES-256-GCM: 32-byte keys, 12-byte nonces, 16-byte tags (appended to the ciphertext). */
export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
const CIPHER = 'aes-256-gcm';

/**
 * Encrypts `plain` and writes ciphertext||tag (plain.length + TAG_BYTES bytes) at the start of
 * `out`. node:crypto cannot encrypt into a caller's buffer, so the ciphertext is copied once.
 */
export function seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array, out: Uint8Array): void {
  if (out.length < plain.length + TAG_BYTES) {
    throw new PipelineError('INVALID_ARGUMENT', `output of ${out.length} bytes cannot hold ${plain.length} + tag`);
  }
  const cipher = createCipheriv(CIPHER, key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  out.set(cipher.update(plain));
  cipher.final(); // GCM is a stream mode: final() emits nothing, but computes the tag
  out.set(cipher.getAuthTag(), plain.length);
}

/** The plaintext of ciphertext||tag, or null when authentication fails. */
export function open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer | null {
  if (sealed.length < TAG_BYTES) return null;
  const decipher = createDecipheriv(CIPHER, key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const plain = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    decipher.final();
  } catch {
    return null;
  }
  return plain;
}

/**
 * What a chunk's tag binds besides its bytes: the id of the object (or upload) it belongs to
 * and its position. The index is a fixed 4 bytes at the end, so distinct (id, index) pairs
 * never give the same AAD.
 */
export function chunkAad(aadObject: string, aadIndex: number): Buffer {
  if (!Number.isInteger(aadIndex) || aadIndex < 0 || aadIndex > 0xffffffff) {
    throw new PipelineError('INVALID_ARGUMENT', `chunk index ${aadIndex} is not a u32`);
  }
  const aad = Buffer.allocUnsafe(Buffer.byteLength(aadObject) + 4);
  aad.writeUInt32BE(aadIndex, aad.write(aadObject));
  return aad;
}

/** Encrypts a chunk with a fresh random nonce into `out` (see seal); returns the nonce. */
export function encryptChunk(
  dataKey: Uint8Array,
  aadObject: string,
  aadIndex: number,
  plain: Uint8Array,
  out: Uint8Array,
): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  seal(dataKey, nonce, chunkAad(aadObject, aadIndex), plain, out);
  return nonce;
}

/** The plaintext of a stored chunk (ciphertext||tag); CHUNK_AUTH_FAILED if it does not authenticate. */
export function decryptChunk(
  dataKey: Uint8Array,
  nonce: Uint8Array,
  aadObject: string,
  aadIndex: number,
  stored: Uint8Array,
): Buffer {
  const plain = open(dataKey, nonce, chunkAad(aadObject, aadIndex), stored);
  if (!plain) {
    throw new PipelineError(
      'CHUNK_AUTH_FAILED',
      `chunk ${aadIndex} of ${aadObject} failed authentication (wrong key, other chunk, or altered bytes)`,
    );
  }
  return plain;
}
