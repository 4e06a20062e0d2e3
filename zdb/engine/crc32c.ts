import { crc32c as standardCrc32c } from '@node-rs/crc32';

/**
 * CRC32C as 0-db computes it: Castagnoli polynomial, initial value 0, no final XOR.
 * The standard function inverts on entry and exit, so seeding it with ~0 and inverting
 * its result gives the raw register 0-db stores. crc("first") = 0xcf4cd765.
 */
export function zdbCrc32c(data: Uint8Array, previous = 0): number {
  return ~standardCrc32c(data as Buffer, ~previous >>> 0) >>> 0;
}

/** zdbCrc32c of the concatenation of `pieces`, without concatenating them. */
export function zdbCrc32cOfPieces(pieces: readonly Uint8Array[]): number {
  let crc = 0;
  for (const p of pieces) crc = zdbCrc32c(p, crc);
  return crc;
}
