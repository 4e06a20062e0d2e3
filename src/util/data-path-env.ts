import { lowMemoryEnv } from './programs.js';

/**
 * glibc's malloc thresholds for the processes that move object data (the gateway, zdb).
 *
 * Every 4 MiB chunk, shard set and node:crypto output is a fresh allocation. By default glibc
 * serves those with mmap (or trims them back to the kernel once freed), so each one costs a page
 * fault per 4 KiB on first touch: with them, node:crypto AES-256-GCM measured ~240 MB per
 * CPU-second; with these two settings, which keep freed memory in the heap for reuse,
 * 1,456 (seal) and 1,984 (open). glibc reads them only at process start, so they are set by
 * whoever spawns the process; one already in the environment is kept. Other C libraries ignore
 * them.
 */
export const MALLOC_THRESHOLDS = {
  /** Allocations below 32 MiB come from the heap, not from a fresh mmap. */
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024),
  /** Up to 256 MiB of freed memory stays at the top of the heap before it is returned. */
  MALLOC_TRIM_THRESHOLD_: String(256 * 1024 * 1024),
};

/** lowMemoryEnv() plus MALLOC_THRESHOLDS, for spawning a gateway or a zdb. */
export function dataPathEnv(): NodeJS.ProcessEnv {
  const env = lowMemoryEnv();
  for (const [name, value] of Object.entries(MALLOC_THRESHOLDS)) env[name] ??= value;
  return env;
}
