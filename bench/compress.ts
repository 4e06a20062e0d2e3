/**
 * zstd levels on this machine, as the pipeline worker calls zstd (`ChunkCompressor`'s binding,
 * one context, 4 MiB inputs): stored size and CPU-seconds of this thread per GiB of input to
 * compress and to decompress, on text-like data and on random data. Medians of alternating
 * samples (CPU time survives a loaded machine; wall time does not).
 *
 *   node dist/bench/compress.js [--samples N] [--levels 3,2,1,-1,-3,-5]
 *
 * What it is for: choosing the level (compress.ts DEFAULT_LEVEL) against the CPU each stored
 * byte costs downstream (AEAD, RS, CRC, sockets, zdb; bench/README.md).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import zstd from 'zstd-napi/binding.js';
import { fmt, median, printTable, textLike } from './common.js';

const SIZE = 4 << 20;
const GiB = 1 << 30;
const MIN_SAMPLE_S = 0.1;

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU-seconds per GiB of input of `op`, repeated for at least MIN_SAMPLE_S. */
function sample(op: () => void): number {
  const start = cpuSeconds();
  let runs = 0;
  do {
    op();
    runs++;
  } while (cpuSeconds() - start < MIN_SAMPLE_S);
  return ((cpuSeconds() - start) / runs) * (GiB / SIZE);
}

function main(): void {
  const { values } = parseArgs({
    options: { samples: { type: 'string', default: '5' }, levels: { type: 'string', default: '3,2,1,-1,-3,-5' } },
  });
  const samples = Number(values.samples);
  const levels = values.levels.split(',').map(Number);
  const inputs: Array<[string, Buffer]> = [
    ['text', textLike(SIZE)],
    ['random', randomBytes(SIZE)],
  ];
  const cctx = new zstd.CCtx();
  const dctx = new zstd.DCtx();
  const out = Buffer.allocUnsafeSlow(zstd.compressBound(SIZE));
  const back = Buffer.allocUnsafeSlow(SIZE);
  const rows: string[][] = [];
  for (const [name, data] of inputs) {
    for (const level of levels) {
      const compress: number[] = [];
      const decompress: number[] = [];
      let size = 0;
      for (let i = 0; i < samples; i++) {
        compress.push(sample(() => (size = cctx.compress(out, data, level))));
        decompress.push(sample(() => dctx.decompress(back, out.subarray(0, size))));
      }
      rows.push([name, String(level), fmt(size / SIZE, 3), fmt(median(compress), 2), fmt(median(decompress), 2)]);
    }
  }
  printTable(['data', 'level', 'stored / plain', 'compress CPU-s/GiB', 'decompress CPU-s/GiB'], rows);
}

main();
