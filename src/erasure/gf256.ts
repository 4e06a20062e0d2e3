/**
 * GF(2^8) with generator polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D) and generator 2,
 * the field of the Rust crate `reed-solomon-erasure`: same field, same parity bytes.
 */
const POLYNOMIAL = 0x11d;

/** EXP[i] = 2^i; doubled so that EXP[log a + log b] needs no modulo. */
const EXP = new Uint8Array(510);
const LOG = new Uint8Array(256);

for (let i = 0, x = 1; i < 255; i++) {
  EXP[i] = x;
  EXP[i + 255] = x;
  LOG[x] = i;
  x <<= 1;
  if (x & 0x100) x ^= POLYNOMIAL;
}

export function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]];
}

export function gfInverse(a: number): number {
  if (a === 0) throw new RangeError('0 has no inverse in GF(2^8)');
  return EXP[255 - LOG[a]];
}

/** a^n, with 0^0 = 1 as the crate defines it (the first Vandermonde column is all ones). */
export function gfPow(a: number, n: number): number {
  if (n === 0) return 1;
  if (a === 0) return 0;
  return EXP[(LOG[a] * n) % 255];
}
