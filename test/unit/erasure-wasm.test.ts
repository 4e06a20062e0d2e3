import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kernelFiles, type KernelVariant } from '../../src/erasure/kernel-files.js';
import { assembleKernel } from '../../wasm/assemble.js';

describe('wasm/gf256-kernel*.wasm', () => {
  it.each<KernelVariant>(['simd128', 'relaxed'])(
    'the committed %s kernel is what `npm run build:wasm` makes from the source, byte for byte',
    async (variant) => {
      const committed = readFileSync(kernelFiles.binary(variant));
      expect(Buffer.compare(await assembleKernel(variant), committed)).toBe(0);
    },
  );

  it('exports its memory and the dot kernel and imports nothing', () => {
    const module = new WebAssembly.Module(readFileSync(kernelFiles.binary('simd128')));
    expect(WebAssembly.Module.exports(module).map((e) => `${e.kind} ${e.name}`)).toEqual([
      'memory memory',
      'function dot',
    ]);
    expect(WebAssembly.Module.imports(module)).toEqual([]);
  });
});
