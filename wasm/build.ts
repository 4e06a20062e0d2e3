import { writeFile } from 'node:fs/promises';
import { kernelFiles, type KernelVariant } from '../src/erasure/kernel-files.js';
import { assembleKernel } from './assemble.js';

/** `npm run build:wasm`: writes the committed wasm/gf256-kernel*.wasm. */
for (const variant of ['simd128', 'relaxed'] satisfies KernelVariant[]) {
  const bytes = await assembleKernel(variant);
  await writeFile(kernelFiles.binary(variant), bytes);
  console.log(`wrote ${kernelFiles.binary(variant)} (${bytes.length} bytes)`);
}
