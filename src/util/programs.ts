import { fileURLToPath } from 'node:url';

// The programs this package ships, found from dist/src/util/: src/ starts them as processes and
// never imports their code (the layers in docs/architecture.md).

/** The zdb daemon (dist/zdb/main.js). */
export const ZDB_MAIN = fileURLToPath(new URL('../../zdb/main.js', import.meta.url));

/** The gateway daemon (dist/gateway/main.js). */
export const GATEWAY_MAIN = fileURLToPath(new URL('../../gateway/main.js', import.meta.url));

/** The qstor command itself (dist/src/cli/main.js): node workloads run under `qstor flist run`. */
export const QSTOR_MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/**
 * glibc gives every thread its own malloc arena, each holding freed memory back: two arenas
 * cut ~30 MiB of RSS from a store process with worker threads, at no measured cost.
 */
export function lowMemoryEnv(): NodeJS.ProcessEnv {
  return { ...process.env, MALLOC_ARENA_MAX: process.env['MALLOC_ARENA_MAX'] ?? '2' };
}
