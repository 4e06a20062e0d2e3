// AES-256-GCM through the system's libcrypto (koffi) and through node:crypto: the same bytes,
// each opening what the other sealed (every chunk, key wrap and flist block written before the
// switch was node:crypto's), known-answer vectors, in-place use, and sizes checked before C.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptChunk, chunkAad } from '../../src/pipeline/encrypt.js';
import { aesGcm, libcryptoAesGcm, nodeAesGcm, TAG_BYTES, type AesGcm } from '../../src/util/aes-gcm.js';

const hex = (text: string): Buffer => Buffer.from(text, 'hex');

// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13 and 16 (AES-256).
const VECTORS = [
  {
    key: hex('00'.repeat(32)),
    nonce: hex('00'.repeat(12)),
    aad: hex(''),
    plain: hex(''),
    sealed: hex('530f8afbc74536b9a963b4f1c4cb738b'),
  },
  {
    key: hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308'),
    nonce: hex('cafebabefacedbaddecaf888'),
    aad: hex('feedfacedeadbeeffeedfacedeadbeefabaddad2'),
    plain: hex(
      'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' +
        '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
    ),
    sealed: hex(
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' +
        '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662' +
        '76fc6ece0f4e1768cddf8853bb2d551b',
    ),
  },
];

const native = libcryptoAesGcm();

function sealWith(impl: AesGcm, key: Buffer, nonce: Buffer, aad: Buffer, plain: Buffer): Buffer {
  const out = Buffer.alloc(plain.length + TAG_BYTES);
  impl.seal(key, nonce, aad, plain, out);
  return out;
}

function openWith(impl: AesGcm, key: Buffer, nonce: Buffer, aad: Buffer, sealed: Buffer): Buffer | null {
  const out = Buffer.alloc(sealed.length - TAG_BYTES);
  return impl.open(key, nonce, aad, sealed, out) ? out : null;
}

describe('AES-256-GCM', () => {
  it('uses the system libcrypto on this machine', () => {
    expect(native?.name).toBe('libcrypto');
    expect(aesGcm()).toBe(native);
  });

  const impls: AesGcm[] = [nodeAesGcm, ...(native ? [native] : [])];

  for (const impl of impls) {
    describe(impl.name, () => {
      it('gives the known answers', () => {
        for (const v of VECTORS) {
          expect(sealWith(impl, v.key, v.nonce, v.aad, v.plain).toString('hex')).toBe(v.sealed.toString('hex'));
          expect(openWith(impl, v.key, v.nonce, v.aad, v.sealed)?.toString('hex')).toBe(v.plain.toString('hex'));
        }
      });

      it('refuses an altered byte, tag, AAD, nonce or key', () => {
        const key = randomBytes(32);
        const nonce = randomBytes(12);
        const aad = Buffer.from('object 7');
        const sealed = sealWith(impl, key, nonce, aad, randomBytes(5000));
        for (const at of [0, 4999, 5000, sealed.length - 1]) {
          const flipped = Buffer.from(sealed);
          flipped[at] ^= 0x80;
          expect(openWith(impl, key, nonce, aad, flipped)).toBeNull();
        }
        expect(openWith(impl, key, nonce, Buffer.from('object 8'), sealed)).toBeNull();
        expect(openWith(impl, key, randomBytes(12), aad, sealed)).toBeNull();
        expect(openWith(impl, randomBytes(32), nonce, aad, sealed)).toBeNull();
      });

      it('seals and opens in place', () => {
        const key = randomBytes(32);
        const nonce = randomBytes(12);
        const plain = randomBytes(70_001);
        const buffer = Buffer.alloc(plain.length + TAG_BYTES);
        plain.copy(buffer);
        impl.seal(key, nonce, Buffer.alloc(0), buffer.subarray(0, plain.length), buffer);
        expect(buffer.equals(sealWith(nodeAesGcm, key, nonce, Buffer.alloc(0), plain))).toBe(true);
        expect(impl.open(key, nonce, Buffer.alloc(0), buffer, buffer)).toBe(true);
        expect(buffer.subarray(0, plain.length).equals(plain)).toBe(true);
      });

      it('checks key, nonce and output sizes before encrypting anything', () => {
        const out = Buffer.alloc(64 + TAG_BYTES);
        const plain = Buffer.alloc(64);
        expect(() => impl.seal(randomBytes(16), randomBytes(12), plain, plain, out)).toThrow(RangeError);
        expect(() => impl.seal(randomBytes(32), randomBytes(16), plain, plain, out)).toThrow(RangeError);
        expect(() => impl.seal(randomBytes(32), randomBytes(12), plain, plain, out.subarray(1))).toThrow(RangeError);
        expect(() => impl.open(randomBytes(32), randomBytes(12), plain, out, Buffer.alloc(63))).toThrow(RangeError);
        expect(() => impl.open(randomBytes(32), randomBytes(12), plain, Buffer.alloc(15), out)).toThrow(RangeError);
      });
    });
  }

  it.runIf(native)('gives node:crypto’s bytes for any size, each opening what the other sealed', () => {
    for (const size of [0, 1, 15, 16, 17, 4095, 4099, (1 << 20) + 5, 4 << 20]) {
      const key = randomBytes(32);
      const nonce = randomBytes(12);
      const aad = size % 2 ? randomBytes(size % 61) : Buffer.alloc(0);
      const plain = randomBytes(size);
      const sealed = sealWith(nodeAesGcm, key, nonce, aad, plain);
      expect(sealWith(native!, key, nonce, aad, plain).equals(sealed)).toBe(true);
      expect(openWith(native!, key, nonce, aad, sealed)?.equals(plain)).toBe(true);
      expect(openWith(nodeAesGcm, key, nonce, aad, sealWith(native!, key, nonce, aad, plain))?.equals(plain)).toBe(
        true,
      );
    }
  });

  it('reads a chunk node:crypto sealed (the stored format before the switch)', () => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const plain = randomBytes(300_000);
    const stored = sealWith(nodeAesGcm, key, nonce, chunkAad('obj-1', 3), plain);
    expect(decryptChunk(key, nonce, 'obj-1', 3, stored).equals(plain)).toBe(true);
    expect(decryptChunk(key, nonce, 'obj-1', 3, stored, Buffer.alloc(plain.length)).equals(plain)).toBe(true);
  });
});
