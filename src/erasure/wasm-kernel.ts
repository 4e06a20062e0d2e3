import v8 from 'node:v8';
import { readFileSync } from 'node:fs';
import { MAX_DATA_SHARDS, MAX_PARITY_SHARDS } from './codec.js';
import { gfMul } from './gf256.js';
import { kernelFiles, type KernelVariant } from './kernel-files.js';
import type { GfMatrix } from './matrix.js';

interface KernelExports {
  memory: WebAssembly.Memory;
  dot(tables: number, ins: number, nin: number, outs: number, nout: number, len: number): void;
}

/**
 * Shards go through the kernel in blocks of this many bytes: the blocks of all k+m shards
 * (at most 24 x 32 KiB) stay in L2 between the copy in, the kernel and the copy out, and the
 * kernel's memory stays the same size whatever the shard size.
 */
export const BLOCK = 32768;

const PAGE = 65536;
const TABLE_BYTES = 32;
const MAX_SLOTS = MAX_DATA_SHARDS + MAX_PARITY_SHARDS;
/** Memory layout: coefficient tables, input and output addresses, then one block slot per shard. */
const TABLES = 0;
const IN_ADDRESSES = TABLES + MAX_PARITY_SHARDS * MAX_DATA_SHARDS * TABLE_BYTES;
const OUT_ADDRESSES = IN_ADDRESSES + MAX_DATA_SHARDS * 4;
const SLOTS = 8192;
/** The kernel works on multiples of 32 bytes; a block's tail is computed over stale padding. */
const VECTOR_STEP = 32;

/** The kernel's lookup tables for `coefficients` (one row per output, one column per input). */
export function kernelTables(coefficients: GfMatrix): Uint8Array {
  const tables = new Uint8Array(coefficients.data.length * TABLE_BYTES);
  coefficients.data.forEach((coef, i) => {
    for (let x = 0; x < 16; x++) {
      tables[i * TABLE_BYTES + x] = gfMul(coef, x);
      tables[i * TABLE_BYTES + 16 + x] = gfMul(coef, x << 4);
    }
  });
  return tables;
}

/** Compiled once per thread and variant: each piscina worker pays for compilation once. */
const compiled = new Map<KernelVariant, WebAssembly.Module>();
let shared: GfKernel | undefined;

function kernelModule(variant: KernelVariant): WebAssembly.Module {
  let module = compiled.get(variant);
  if (!module) {
    module = new WebAssembly.Module(readFileSync(kernelFiles.binary(variant)));
    compiled.set(variant, module);
  }
  return module;
}

/**
 * The faster variant when this Node.js runs relaxed SIMD, else plain SIMD128. Node 20 has
 * relaxed SIMD behind a V8 flag (on by default from Node 22): it is turned on here, process-
 * wide (worker threads share V8's flags). Both kernels give the same bytes (the tests check
 * both); the relaxed swizzle is about 1.5x faster because V8 needs no index clamping.
 */
export function bestKernelVariant(): KernelVariant {
  const relaxed = readFileSync(kernelFiles.binary('relaxed'));
  if (!WebAssembly.validate(relaxed)) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(relaxed) ? 'relaxed' : 'simd128';
}

/**
 * One instance of the SIMD kernel. A computation is loaded (tables, numbers of inputs and
 * outputs), then run block by block: the caller fills the input slots, runs, reads the outputs.
 */
export class GfKernel {
  private readonly exports: KernelExports;
  private readonly slots: Uint8Array[];
  private inputCount = 0;
  private outputCount = 0;

  constructor(readonly variant: KernelVariant = bestKernelVariant()) {
    this.exports = new WebAssembly.Instance(kernelModule(variant), {}).exports as unknown as KernelExports;
    const memory = this.exports.memory;
    memory.grow(Math.ceil((SLOTS + MAX_SLOTS * BLOCK) / PAGE) - memory.buffer.byteLength / PAGE);
    // Memory never grows again, so these views stay valid.
    this.slots = Array.from({ length: MAX_SLOTS }, (_, i) => new Uint8Array(memory.buffer, SLOTS + i * BLOCK, BLOCK));
  }

  /** The kernel of this thread, shared by every codec on it (they run one at a time). */
  static shared(): GfKernel {
    shared ??= new GfKernel();
    return shared;
  }

  /** Prepares out[j] = sum over c of coefficients[j][c] * in[c]; `tables` from kernelTables. */
  load(tables: Uint8Array, inputs: number, outputs: number): void {
    const memory = new DataView(this.exports.memory.buffer);
    new Uint8Array(this.exports.memory.buffer).set(tables, TABLES);
    for (let c = 0; c < inputs; c++) memory.setUint32(IN_ADDRESSES + 4 * c, SLOTS + c * BLOCK, true);
    for (let j = 0; j < outputs; j++) memory.setUint32(OUT_ADDRESSES + 4 * j, SLOTS + (inputs + j) * BLOCK, true);
    this.inputCount = inputs;
    this.outputCount = outputs;
  }

  /** The BLOCK-byte slot of input `c`, to be filled before run(). */
  input(c: number): Uint8Array {
    return this.slots[c];
  }

  /** The BLOCK-byte slot of output `j`, valid after run(). */
  output(j: number): Uint8Array {
    return this.slots[this.inputCount + j];
  }

  /** Computes the first `length` (<= BLOCK) bytes of every output from the inputs. */
  run(length: number): void {
    const padded = Math.ceil(length / VECTOR_STEP) * VECTOR_STEP;
    this.exports.dot(TABLES, IN_ADDRESSES, this.inputCount, OUT_ADDRESSES, this.outputCount, padded);
  }
}
