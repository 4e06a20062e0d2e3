import fs from 'node:fs';
import path from 'node:path';
import { serviceLogger } from '../agent/log.js';
import { createRegistryServer } from '../agent/registry/server.js';
import { loadOrCreateTokenFile } from '../agent/tokens.js';

/**
 * `qstor registry --data DIR --port P [--host H] [--admin-token-file F] [--down-after S]`:
 * the registry on its own, in DIR/meta.db (the tables a gateway on DIR would use). Without
 * --admin-token-file the token is DIR/registry-admin.token, created 0600 on first start; it
 * is never printed. Its signing key (grants for admitted stores) is DIR/registry.key, 0600;
 * the public half is printed, for agents' `registryKey`. With QSTOR_METADATA set to a
 * `postgres://` URL the tables are in that database instead (the one the gateways share); the
 * URL may hold a password, so it is read from the environment, never from the command line.
 */
export async function registry(values: {
  data: string;
  port: number;
  host: string;
  adminTokenFile?: string;
  downAfter: number;
}): Promise<void> {
  const port = values.port;
  const downAfter = values.downAfter;
  fs.mkdirSync(values.data, { recursive: true, mode: 0o700 });
  const tokenFile = values.adminTokenFile ?? path.join(values.data, 'registry-admin.token');
  const adminToken = values.adminTokenFile
    ? fs.readFileSync(tokenFile, 'utf8').trim()
    : loadOrCreateTokenFile(tokenFile);

  const logger = serviceLogger('qstor-registry');
  const server = await createRegistryServer({
    dbPath: path.join(values.data, 'meta.db'),
    metadataUrl: process.env['QSTOR_METADATA'] || undefined,
    adminToken,
    downAfterMs: downAfter * 1000,
    logger,
  });
  const bound = await server.listen(port, values.host);
  process.stdout.write(
    `registry on http://${values.host}:${bound} (admin token in ${tokenFile}; registry key ${server.registry.key}, grants signed with ${path.join(values.data, 'registry.key')})\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
}
