import { fileURLToPath } from 'node:url';

// The programs this package ships, found from dist/src/util/: src/ starts them as processes and
// never imports their code (the layers in docs/architecture.md).

/** The zdb daemon (dist/zdb/main.js). */
export const ZDB_MAIN = fileURLToPath(new URL('../../zdb/main.js', import.meta.url));

/** The gateway daemon (dist/gateway/main.js). */
export const GATEWAY_MAIN = fileURLToPath(new URL('../../gateway/main.js', import.meta.url));

/**
 * Node flags of the gateway process. V8 starts an incremental full collection whenever the old
 * generation's room left under its limit is smaller than the young generation: with the
 * gateway's small live heap (~17 MB) and a young generation grown by the data path's
 * allocations, the limit set after each collection (~41 MB) left less room than that, so full
 * collections ran back to back, 44-67 in one 256 MiB PUT and GET. A floor of 64 MB on the limit
 * leaves 0-1 (the gateway's CPU in that PUT -32%, in the GET -40%; bench/README.md).
 */
export const GATEWAY_NODE_FLAGS = ['--initial-old-space-size=64'];

/** The qstor command itself (dist/src/cli/main.js): node workloads run under `qstor flist run`. */
export const QSTOR_MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/**
 * glibc gives every thread its own malloc arena, each holding freed memory back: two arenas
 * cut ~30 MiB of RSS from a store process with worker threads, at no measured cost.
 */
export function lowMemoryEnv(): NodeJS.ProcessEnv {
  return { ...process.env, MALLOC_ARENA_MAX: process.env['MALLOC_ARENA_MAX'] ?? '2' };
}
