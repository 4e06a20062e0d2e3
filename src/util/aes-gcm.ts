import { createCipheriv, createDecipheriv } from 'node:crypto';
import koffi from 'koffi';

/** AES-256-GCM as every caller here uses it: 32-byte keys, 12-byte nonces, 16-byte tags. */
export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

/**
 * One AES-256-GCM implementation. Both write into the caller's buffer: ciphertext||tag for
 * seal, the plaintext for open (which returns false, and leaves `out` undefined, when the
 * tag does not authenticate). `out` may be the input itself (in place).
 */
export interface AesGcm {
  readonly name: 'libcrypto' | 'node:crypto';
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array, out: Uint8Array): void;
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array): boolean;
}

/** node:crypto: writes into no caller's buffer, so each output is copied once. */
export const nodeAesGcm: AesGcm = {
  name: 'node:crypto',
  seal(key, nonce, aad, plain, out) {
    checkSizes(key, nonce, out.length >= plain.length + TAG_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    if (aad.length > 0) cipher.setAAD(aad);
    out.set(cipher.update(plain));
    cipher.final(); // GCM is a stream mode: final() emits nothing, but computes the tag
    out.set(cipher.getAuthTag(), plain.length);
  },
  open(key, nonce, aad, sealed, out) {
    checkSizes(key, nonce, sealed.length >= TAG_BYTES && out.length >= sealed.length - TAG_BYTES);
    const length = sealed.length - TAG_BYTES;
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    if (aad.length > 0) decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(length));
    out.set(decipher.update(sealed.subarray(0, length)));
    try {
      decipher.final();
    } catch {
      return false;
    }
    return true;
  },
};

/**
 * The system's libcrypto (OpenSSL 3 or 1.1) called through koffi. Node's bundled OpenSSL runs
 * AES-256-GCM at ~2,400 MB per CPU-second on these machines (~240 without glibc keeping freed
 * memory: every output is fresh memory); the system's, into the caller's buffer, at ~4,600.
 * One EVP context per thread, re-initialised per call (the key schedule is a few hundred ns).
 * Sizes are checked here, before any pointer reaches C.
 */
function loadLibcrypto(): AesGcm | null {
  let lib: koffi.IKoffiLib | null = null;
  for (const name of ['libcrypto.so.3', 'libcrypto.so.1.1']) {
    try {
      lib = koffi.load(name);
      break;
    } catch {
      // try the next soname
    }
  }
  if (!lib) return null;
  try {
    const ctxType = koffi.pointer(koffi.opaque());
    const newCtx = lib.func('EVP_CIPHER_CTX_new', ctxType, []);
    const aes256Gcm = lib.func('EVP_aes_256_gcm', 'void *', []);
    const init = lib.func('EVP_CipherInit_ex', 'int', [ctxType, 'void *', 'void *', 'uint8_t *', 'uint8_t *', 'int']);
    const update = lib.func('EVP_CipherUpdate', 'int', [ctxType, 'uint8_t *', 'int32_t *', 'uint8_t *', 'int']);
    const final = lib.func('EVP_CipherFinal_ex', 'int', [ctxType, 'uint8_t *', 'int32_t *']);
    const ctrl = lib.func('EVP_CIPHER_CTX_ctrl', 'int', [ctxType, 'int', 'int', 'uint8_t *']);
    const GET_TAG = 0x10;
    const SET_TAG = 0x11;
    const ctx: unknown = newCtx();
    const cipher: unknown = aes256Gcm();
    if (!ctx || !cipher) return null;
    const written = new Int32Array(1);
    const must = (ok: number, what: string): void => {
      if (ok !== 1) throw new Error(`libcrypto ${what} failed`);
    };
    const start = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, encrypt: 0 | 1): void => {
      must(init(ctx, cipher, null, key, nonce, encrypt), 'EVP_CipherInit_ex');
      if (aad.length > 0) must(update(ctx, null, written, aad, aad.length), 'AAD');
    };
    return {
      name: 'libcrypto',
      seal(key, nonce, aad, plain, out) {
        checkSizes(key, nonce, out.length >= plain.length + TAG_BYTES);
        start(key, nonce, aad, 1);
        if (plain.length > 0) must(update(ctx, out, written, plain, plain.length), 'EVP_CipherUpdate');
        const tag = out.subarray(plain.length, plain.length + TAG_BYTES);
        must(final(ctx, tag, written), 'EVP_CipherFinal_ex'); // GCM: writes nothing, computes the tag
        must(ctrl(ctx, GET_TAG, TAG_BYTES, tag), 'GET_TAG');
      },
      open(key, nonce, aad, sealed, out) {
        checkSizes(key, nonce, sealed.length >= TAG_BYTES && out.length >= sealed.length - TAG_BYTES);
        const length = sealed.length - TAG_BYTES;
        start(key, nonce, aad, 0);
        // The tag is read before the ciphertext is decrypted: in place, `out` overwrites neither.
        must(ctrl(ctx, SET_TAG, TAG_BYTES, sealed.subarray(length)), 'SET_TAG');
        if (length > 0) must(update(ctx, out, written, sealed.subarray(0, length), length), 'EVP_CipherUpdate');
        return final(ctx, out.subarray(length), written) === 1;
      },
    };
  } catch {
    return null;
  }
}

function checkSizes(key: Uint8Array, nonce: Uint8Array, roomOk: boolean): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`AES-256-GCM key of ${key.length} bytes, not ${KEY_BYTES}`);
  if (nonce.length !== NONCE_BYTES) throw new RangeError(`AES-GCM nonce of ${nonce.length} bytes, not ${NONCE_BYTES}`);
  if (!roomOk) throw new RangeError('AES-GCM output buffer too small for its input');
}

let chosen: AesGcm | undefined;

/** The system's libcrypto when it loads, else node:crypto; the same bytes either way. */
export function aesGcm(): AesGcm {
  chosen ??= loadLibcrypto() ?? nodeAesGcm;
  return chosen;
}

/** libcrypto's implementation, or null where it cannot be loaded (for tests and benchmarks). */
export function libcryptoAesGcm(): AesGcm | null {
  return aesGcm().name === 'libcrypto' ? aesGcm() : null;
}
