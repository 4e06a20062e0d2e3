import { crc32c } from '@node-rs/crc32';
import { CodedError } from '../util/coded-error.js';
import type { BackendPool } from './backend-pool.js';
import type { ChunkRef } from '../meta/manifest.js';
import { backendFault } from './shard-backend.js';

/**
 * Why a shard could not be used. MISSING and CORRUPT are verdicts on the shard (rebuild it);
 * TIMEOUT and UNREACHABLE are about its backend now (the shard may be fine); FAILED is any
 * other backend error.
 */
export type ShardFault = 'MISSING' | 'CORRUPT' | 'TIMEOUT' | 'UNREACHABLE' | 'FAILED';

/** A shard that could not be used, with the backend's error as `cause` when there was one. */
export class ShardReadError extends CodedError<ShardFault> {
  constructor(
    code: ShardFault,
    readonly shard: number,
    readonly backend: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }

  /** True when the shard itself is bad, not merely out of reach. */
  get shardIsBad(): boolean {
    return this.code === 'MISSING' || this.code === 'CORRUPT';
  }
}

/**
 * Reads shard `index` of a chunk and checks its length and, unless `checkCrc` is false, its CRC;
 * fails with a ShardReadError. A GET leaves the CRC to the chunk's tag (see chunk-reader.ts).
 */
export async function readShard(
  backends: BackendPool,
  chunk: ChunkRef,
  index: number,
  checkCrc = true,
): Promise<Buffer> {
  const ref = chunk.shards[index]!;
  if (ref.missing)
    throw new ShardReadError(
      'MISSING',
      index,
      '',
      `shard ${index} of chunk ${chunk.id} was not written (degraded write)`,
    );
  const where = `shard ${index} of chunk ${chunk.id} on ${ref.backend}`;
  let value: Buffer | null;
  try {
    value = await backends.run(ref.backend, (c) => c.get(ref.key));
  } catch (e) {
    const fault = backendFault(e);
    const code = fault === 'TIMEOUT' ? 'TIMEOUT' : fault === 'CONNECTION' ? 'UNREACHABLE' : 'FAILED';
    throw new ShardReadError(code, index, ref.backend, `${where}: ${(e as Error).message}`, { cause: e });
  }
  if (!value) throw new ShardReadError('MISSING', index, ref.backend, `${where} is missing`);
  if (value.length !== chunk.shardSize) {
    throw new ShardReadError(
      'CORRUPT',
      index,
      ref.backend,
      `${where} has ${value.length} bytes, expected ${chunk.shardSize}`,
    );
  }
  if (checkCrc && crc32c(value) !== ref.crc)
    throw new ShardReadError('CORRUPT', index, ref.backend, `${where} fails its CRC`);
  return value;
}

/** A short account of shard failures for a repair queue entry or an error: "1 CORRUPT, 3 TIMEOUT". */
export function describeFailures(failures: readonly ShardReadError[]): string {
  return failures.map((f) => `${f.shard} ${f.code}`).join(', ');
}
