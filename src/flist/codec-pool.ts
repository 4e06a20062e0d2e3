import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { EncodedBlock } from './block-codec.js';
import type { CodecReply, DecodeTask, EncodeReply } from './codec-worker.js';
import { FlistError } from './errors.js';
import type { BlockRef } from './schema.js';

/** The compiled worker: beside this file in dist/, or dist's copy when running from TypeScript (vitest). */
function workerFile(): string {
  const own = import.meta.url;
  const url = own.endsWith('.ts')
    ? new URL('../../dist/src/flist/codec-worker.js', own)
    : new URL('./codec-worker.js', own);
  const path = fileURLToPath(url);
  if (!existsSync(path)) throw new FlistError('SETUP', `flist codec worker ${path} not found: run npm run build`);
  return path;
}

function unwrap<T>(reply: CodecReply<T>): T {
  if ('error' in reply) throw new FlistError(reply.error.code, reply.error.message);
  return reply.result;
}

/** An ArrayBuffer holding exactly these bytes, safe to transfer (copied when shared). */
function detachable(b: Uint8Array): ArrayBuffer {
  const own = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer;
  return (own ? b.buffer : new Uint8Array(b).buffer) as ArrayBuffer;
}

/**
 * Block encoding and decoding on worker threads (hashing, snappy and AES are the CPU cost of
 * creating and of cold reads). Plaintext given to encode() and data given to decode() are
 * transferred: the caller must not use them afterwards.
 */
export class CodecPool {
  private readonly piscina: Piscina;

  constructor(threads = os.availableParallelism()) {
    this.piscina = new Piscina({ filename: workerFile(), minThreads: threads, maxThreads: threads });
  }

  async encode(plain: Uint8Array): Promise<EncodedBlock> {
    const buf = detachable(plain);
    const r = unwrap<EncodeReply>(await this.piscina.run(buf, { name: 'encode', transferList: [buf] }));
    return { id: Buffer.from(r.id), key: Buffer.from(r.key), data: Buffer.from(r.data) };
  }

  async decode(block: BlockRef, data: Buffer): Promise<Buffer> {
    const buf = detachable(data);
    const task: DecodeTask = { id: new Uint8Array(block.id), key: new Uint8Array(block.key), data: buf };
    return Buffer.from(unwrap<ArrayBuffer>(await this.piscina.run(task, { name: 'decode', transferList: [buf] })));
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
