/**
 * The registry's two engines for a test file: sqlite (the registry's own meta.db) and
 * PostgreSQL (a fresh database per suite on one server per file, started on first use).
 * `describe.each(REGISTRY_ENGINES)` runs a suite on both; the file's afterAll calls
 * `stopRegistryEngines()`.
 */
import { startPostgres, type PostgresServer } from './postgres.js';

export const REGISTRY_ENGINES = [{ engine: 'sqlite' as const }, { engine: 'postgres' as const }];
export type RegistryEngine = (typeof REGISTRY_ENGINES)[number]['engine'];

let server: Promise<PostgresServer> | undefined;
let databases = 0;

/** Where the registry's tables go: undefined for sqlite, a new database's URL for PostgreSQL. */
export async function registryMetadataUrl(engine: RegistryEngine): Promise<string | undefined> {
  if (engine === 'sqlite') return undefined;
  server ??= startPostgres();
  return (await server).createDatabase(`registry_${++databases}`);
}

export async function stopRegistryEngines(): Promise<void> {
  const s = server;
  server = undefined;
  await (await s)?.destroy();
}
