import { MAX_DATA_SHARDS, MAX_PARITY_SHARDS, type ErasureCodec } from './codec.js';
import { ErasureError } from './errors.js';
import { encodingMatrix, type GfMatrix } from './matrix.js';
import { BLOCK, GfKernel, kernelTables } from './wasm-kernel.js';

/** Decoding tables per set of missing shards; 10+4 has 1470 such sets, so the cache is bounded. */
const MAX_CACHED_PLANS = 64;

interface DecodePlan {
  /** The k present shards the missing ones are computed from. */
  sources: number[];
  tables: Uint8Array;
}

/** Receives output j's bytes at `offset`; returns false to stop early. */
type BlockSink = (output: number, block: Uint8Array, offset: number) => boolean;

/**
 * Reed-Solomon over GF(2^8), parity byte-identical to the Rust crate `reed-solomon-erasure`
 * (and so to 0-stor v2), computed by the WebAssembly SIMD kernel.
 */
export class ReedSolomonCodec implements ErasureCodec {
  private readonly matrix: GfMatrix;
  private readonly parityRows: number[];
  private readonly parityTables: Uint8Array;
  private readonly plans = new Map<string, DecodePlan>();

  constructor(
    readonly dataShards: number,
    readonly parityShards: number,
    private readonly kernel: GfKernel = GfKernel.shared(),
  ) {
    if (!isCount(dataShards, MAX_DATA_SHARDS) || !isCount(parityShards, MAX_PARITY_SHARDS)) {
      throw new ErasureError(
        'INVALID_GEOMETRY',
        `need 1..${MAX_DATA_SHARDS} data and 1..${MAX_PARITY_SHARDS} parity shards, got ${dataShards}+${parityShards}`,
      );
    }
    this.matrix = encodingMatrix(dataShards, parityShards);
    this.parityRows = range(dataShards, dataShards + parityShards);
    this.parityTables = kernelTables(this.matrix.selectRows(this.parityRows));
  }

  encode(data: readonly Uint8Array[], parity: readonly Uint8Array[]): void {
    expectCount(data, this.dataShards, 'data');
    expectCount(parity, this.parityShards, 'parity');
    expectSameLength([...data, ...parity]);
    this.compute(this.parityTables, data, this.parityShards, copyInto(parity));
  }

  reconstruct(shards: readonly Uint8Array[], missing: readonly number[], rebuild: readonly number[] = missing): void {
    expectCount(shards, this.dataShards + this.parityShards, 'total');
    this.checkMissing(missing, rebuild);
    expectSameLength(shards.filter((_, i) => rebuild.includes(i) || !missing.includes(i)));
    if (rebuild.length === 0) return;
    const plan = this.decodePlan(missing, rebuild);
    const sources = plan.sources.map((i) => shards[i]);
    this.compute(plan.tables, sources, rebuild.length, copyInto(rebuild.map((i) => shards[i])));
  }

  verify(shards: readonly Uint8Array[]): boolean {
    expectCount(shards, this.dataShards + this.parityShards, 'total');
    expectSameLength(shards);
    const parity = shards.slice(this.dataShards);
    return this.compute(
      this.parityTables,
      shards.slice(0, this.dataShards),
      this.parityShards,
      (j, block, offset) => Buffer.compare(block, parity[j].subarray(offset, offset + block.length)) === 0,
    );
  }

  /** Runs `tables` over the inputs block by block, handing each output block to `sink`. */
  private compute(tables: Uint8Array, inputs: readonly Uint8Array[], outputs: number, sink: BlockSink): boolean {
    const kernel = this.kernel;
    const length = inputs[0].length;
    kernel.load(tables, inputs.length, outputs);
    for (let offset = 0; offset < length; offset += BLOCK) {
      const end = Math.min(offset + BLOCK, length);
      inputs.forEach((shard, c) => kernel.input(c).set(shard.subarray(offset, end)));
      kernel.run(end - offset);
      for (let j = 0; j < outputs; j++) {
        if (!sink(j, kernel.output(j).subarray(0, end - offset), offset)) return false;
      }
    }
    return true;
  }

  private checkMissing(missing: readonly number[], rebuild: readonly number[]): void {
    const total = this.dataShards + this.parityShards;
    const valid = (list: readonly number[], allowed: (i: number) => boolean): boolean =>
      new Set(list).size === list.length && list.every((i) => Number.isInteger(i) && allowed(i));
    if (!valid(missing, (i) => i >= 0 && i < total) || !valid(rebuild, (i) => missing.includes(i))) {
      throw new ErasureError(
        'INVALID_INDEX',
        `missing [${missing.join(',')}] must be distinct indices in 0..${total - 1}, rebuild [${rebuild.join(',')}] distinct ones of them`,
      );
    }
    if (missing.length > this.parityShards) {
      throw new ErasureError(
        'TOO_MANY_MISSING',
        `${missing.length} shards missing, a ${this.dataShards}+${this.parityShards} code recovers at most ${this.parityShards}`,
      );
    }
  }

  /**
   * The rebuilt shards are rows `rebuild` of the encoding matrix E times the data, and the data
   * is the inverse of E's rows `sources` times the source shards: one product gives them all.
   */
  private decodePlan(missing: readonly number[], rebuild: readonly number[]): DecodePlan {
    const key = `${missing.join(',')}/${rebuild.join(',')}`;
    let plan = this.plans.get(key);
    if (!plan) {
      const sources = range(0, this.dataShards + this.parityShards)
        .filter((i) => !missing.includes(i))
        .slice(0, this.dataShards);
      const decode = this.matrix.selectRows(rebuild).multiply(this.matrix.selectRows(sources).invert());
      plan = { sources, tables: kernelTables(decode) };
      if (this.plans.size >= MAX_CACHED_PLANS) this.plans.clear();
      this.plans.set(key, plan);
    }
    return plan;
  }
}

function isCount(n: number, max: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= max;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

function expectCount(shards: readonly Uint8Array[], expected: number, what: string): void {
  if (shards.length !== expected) {
    throw new ErasureError('SHARD_COUNT', `expected ${expected} ${what} shards, got ${shards.length}`);
  }
}

function expectSameLength(shards: readonly Uint8Array[]): void {
  if (shards.some((s) => s.length !== shards[0].length)) {
    throw new ErasureError('SHARD_SIZE', 'shards differ in length');
  }
}

function copyInto(targets: readonly Uint8Array[]): BlockSink {
  return (j, block, offset) => {
    targets[j].set(block, offset);
    return true;
  };
}
