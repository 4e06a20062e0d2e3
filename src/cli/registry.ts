import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { serviceLogger } from '../agent/log.js';
import { createRegistryServer } from '../agent/registry/server.js';
import { loadOrCreateTokenFile } from '../agent/tokens.js';
import { CliError } from './errors.js';

/**
 * `qstor registry --data DIR --port P [--host H] [--admin-token-file F] [--down-after S]`:
 * the registry on its own, in DIR/meta.db (the tables a gateway on DIR would use). Without
 * --admin-token-file the token is DIR/registry-admin.token, created 0600 on first start; it
 * is never printed. Its signing key (grants for admitted stores) is DIR/registry.key, 0600;
 * the public half is printed, for agents' `registryKey`.
 */
export async function registry(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', default: './qstor-data' },
      port: { type: 'string', default: '9800' },
      host: { type: 'string', default: '127.0.0.1' },
      'admin-token-file': { type: 'string' },
      'down-after': { type: 'string', default: '30' },
    },
  });
  const port = Number(values.port);
  const downAfter = Number(values['down-after']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError('INVALID_OPTION', `--port: not a port: ${values.port}`);
  if (!(downAfter > 0)) throw new CliError('INVALID_OPTION', `--down-after: not a positive number of seconds: ${values['down-after']}`);
  fs.mkdirSync(values.data, { recursive: true, mode: 0o700 });
  const tokenFile = values['admin-token-file'] ?? path.join(values.data, 'registry-admin.token');
  const adminToken = values['admin-token-file'] ? fs.readFileSync(tokenFile, 'utf8').trim() : loadOrCreateTokenFile(tokenFile);

  const logger = serviceLogger('qstor-registry');
  const server = createRegistryServer({ dbPath: path.join(values.data, 'meta.db'), adminToken, downAfterMs: downAfter * 1000, logger });
  const bound = await server.listen(port, values.host);
  process.stdout.write(`registry on http://${values.host}:${bound} (admin token in ${tokenFile}; registry key ${server.registry.key}, grants signed with ${path.join(values.data, 'registry.key')})\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
}
