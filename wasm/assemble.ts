import { readFile } from 'node:fs/promises';
import wabt from 'wabt';
import { kernelFiles, type KernelVariant } from '../src/erasure/kernel-files.js';

/**
 * Assembles gf256-kernel.wat, for the `relaxed` variant with every i8x16.swizzle turned into
 * i8x16.relaxed_swizzle. No debug names: the bytes depend only on the source and wabt.
 */
export async function assembleKernel(variant: KernelVariant): Promise<Uint8Array> {
  let source = await readFile(kernelFiles.source(), 'utf8');
  if (variant === 'relaxed') source = source.replaceAll('i8x16.swizzle', 'i8x16.relaxed_swizzle');
  const module = (await wabt()).parseWat('gf256-kernel.wat', source, { simd: true, relaxed_simd: true });
  try {
    module.validate();
    return module.toBinary({ log: false, write_debug_names: false }).buffer;
  } finally {
    module.destroy();
  }
}
