import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErasureError } from './errors.js';

/**
 * The kernel is built twice from one source: `simd128` with i8x16.swizzle, and `relaxed` with
 * i8x16.relaxed_swizzle, which V8 compiles to a bare pshufb (swizzle costs an extra add that
 * zeroes out-of-range lanes; the kernel's indices are always 0..15, where both give the same
 * bytes). Relaxed SIMD is on by default from Node 22; Node 20 needs --experimental-wasm-relaxed-simd.
 */
export type KernelVariant = 'simd128' | 'relaxed';

const KERNEL_SOURCE = 'gf256-kernel.wat';
const KERNEL_BINARY: Record<KernelVariant, string> = {
  simd128: 'gf256-kernel.wasm',
  relaxed: 'gf256-kernel.relaxed.wasm',
};

/**
 * `wasm/` at the package root. This module runs both from `src/erasure/` (tests) and from
 * `dist/src/erasure/` (the build), so both depths are tried.
 */
function wasmDir(): string {
  for (const up of ['../../wasm/', '../../../wasm/']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(dir + KERNEL_SOURCE)) return dir;
  }
  throw new ErasureError(
    'KERNEL_NOT_FOUND',
    `cannot find wasm/${KERNEL_SOURCE} above ${fileURLToPath(import.meta.url)}`,
  );
}

export const kernelFiles = {
  source: (): string => wasmDir() + KERNEL_SOURCE,
  binary: (variant: KernelVariant): string => wasmDir() + KERNEL_BINARY[variant],
};
