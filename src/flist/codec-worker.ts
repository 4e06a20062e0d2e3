/** A codec pool thread: encodes and decodes blocks (block-codec.ts) off the main thread. */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { decodeBlock, encodeBlock } from './block-codec.js';
import { FlistError, type FlistErrorCode } from './errors.js';
import { loadHasher } from './hash.js';

export type CodecReply<T> = { result: T } | { error: { code: FlistErrorCode; message: string } };

export interface EncodeReply {
  id: Uint8Array;
  key: Uint8Array;
  data: ArrayBuffer;
}

export interface DecodeTask {
  id: Uint8Array;
  key: Uint8Array;
  /** The stored bytes, transferred. */
  data: ArrayBuffer;
}

const ready = loadHasher();

/** The bytes as an ArrayBuffer of their own (copied only when they share one, e.g. Node's Buffer pool). */
function owned(b: Buffer): ArrayBuffer {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return b.buffer as ArrayBuffer;
  return new Uint8Array(b).buffer;
}

/** Posts `result` with `transfer` moved, not copied. */
function transferred<T>(result: T, transfer: ArrayBuffer[]): CodecReply<T> {
  return move({ [transferableSymbol]: transfer, [valueSymbol]: { result } }) as unknown as CodecReply<T>;
}

export async function encode(plain: ArrayBuffer): Promise<CodecReply<EncodeReply>> {
  await ready;
  const b = encodeBlock(new Uint8Array(plain));
  const data = owned(b.data);
  return transferred({ id: new Uint8Array(b.id), key: new Uint8Array(b.key), data }, [data]);
}

export async function decode(task: DecodeTask): Promise<CodecReply<ArrayBuffer>> {
  await ready;
  try {
    const plain = owned(decodeBlock({ id: Buffer.from(task.id), key: Buffer.from(task.key) }, Buffer.from(task.data)));
    return transferred(plain, [plain]);
  } catch (err) {
    if (err instanceof FlistError) return { error: { code: err.code, message: err.message } };
    throw err;
  }
}
