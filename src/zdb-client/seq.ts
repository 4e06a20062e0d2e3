/**
 * Sequential-mode keys: 0-db assigns ids 0, 1, 2 ... and sends them as 8-byte little-endian
 * integers; the same 8 bytes address the entry in GET, SET (overwrite), DEL and friends.
 */
export const SEQ_ID_BYTES = 8;

/** The 8-byte key of sequential id `n`. */
export function seqId(n: bigint | number): Buffer {
  const v = BigInt(n);
  if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new RangeError(`seq id out of range: ${n}`);
  const out = Buffer.allocUnsafe(SEQ_ID_BYTES);
  out.writeBigUInt64LE(v);
  return out;
}

/** The id in an 8-byte sequential key. A number: ids are counted entries, far below 2^53. */
export function seqNumber(key: Buffer): number {
  if (key.length !== SEQ_ID_BYTES) throw new RangeError(`seq key must be ${SEQ_ID_BYTES} bytes, got ${key.length}`);
  const v = key.readBigUInt64LE();
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`seq id ${v} is not a safe integer`);
  return Number(v);
}
