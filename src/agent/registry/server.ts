import type http from 'node:http';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { AgentError } from '../errors.js';
import { publicKeySchema, rightsSchema } from '../grants.js';
import { bearer, jsonService, readJson } from '../http.js';
import { loadOrCreateIdentity } from '../identity.js';
import { tokensEqual } from '../tokens.js';
import { fields, int, record, text } from '../../util/schema.js';
import { check } from '../validate.js';
import type { RegistryLocation } from './open.js';
import { Registry, type RegistryOptions } from './registry.js';

/**
 * `dbPath` is the sqlite file, unless `metadataUrl` or `pool` name the PostgreSQL database of the
 * metadata (RegistryLocation); the identity file sits beside `dbPath` either way.
 */
export interface RegistryServerOptions extends RegistryOptions, RegistryLocation {
  /** Bearer token of the operator: farm creation and listings. */
  adminToken: string;
  /** The registry's ed25519 seed (0600, made on first start); default `registry.key` beside dbPath. */
  identityFile?: string;
  logger?: Logger;
}

export interface RegistryServer {
  readonly registry: Registry;
  /** Resolves with the bound port (useful with port 0). */
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

const HEARTBEAT_PATH = /^\/v1\/nodes\/([0-9a-f]{64})\/heartbeat$/;
const FARM_STORES_PATH = /^\/v1\/farms\/(\d+)\/stores(?:\/([0-9a-f]{64}))?$/;

/**
 * The registry over HTTP (JSON). Routes, auth and bodies are listed in src/agent/README.md.
 * Requests are logged by route and outcome only: never a body, so never a token.
 */
export async function createRegistryServer(o: RegistryServerOptions): Promise<RegistryServer> {
  if (o.adminToken.length < 16)
    throw new AgentError('CONFIG', 'the registry admin token must be at least 16 characters');
  const identity = loadOrCreateIdentity(o.identityFile ?? path.join(path.dirname(o.dbPath), 'registry.key'));
  const registry = await Registry.open(o, { ...o, identity });
  const log = o.logger ?? pino({ name: 'qstor-registry' });

  const admin = (req: http.IncomingMessage): void => {
    const t = bearer(req);
    if (t === undefined || !tokensEqual(t, o.adminToken))
      throw new AgentError('UNAUTHORIZED', 'this route needs the admin bearer token');
  };

  const route = async (req: http.IncomingMessage): Promise<[number, unknown]> => {
    const path = new URL(req.url ?? '/', 'http://registry').pathname;
    const now = Date.now();
    if (req.method === 'POST' && path === '/v1/farms') {
      admin(req);
      return [201, await registry.createFarm(check(record({ name: text() }), await readJson(req), 'body').name, now)];
    }
    if (req.method === 'GET' && path === '/v1/farms') {
      admin(req);
      return [200, { farms: await registry.listFarms() }];
    }
    if (req.method === 'POST' && path === '/v1/nodes') {
      const node = await registry.acceptRegistration(await readJson(req), now);
      return [201, { nodeId: node.id, farmId: node.farmId, registryKey: identity.id }];
    }
    const farmStores = FARM_STORES_PATH.exec(path);
    if (farmStores) return farmStoresRoute(req, Number(farmStores[1]), farmStores[2], now);
    if (req.method === 'POST' && path === '/v1/grants')
      return [200, await registry.acceptGrantRequest(await readJson(req), now)];
    const hb = HEARTBEAT_PATH.exec(path);
    if (req.method === 'POST' && hb) {
      const node = await registry.acceptHeartbeat(hb[1]!, await readJson(req), now);
      return [200, { nodeId: node.id, lastHeartbeat: node.lastHeartbeat }];
    }
    if (req.method === 'GET' && path === '/v1/nodes') {
      admin(req);
      const nodes = (await registry.listNodes()).map((n) => ({ ...n, state: registry.nodeState(n, now) }));
      return [200, { now, downAfterMs: registry.downAfterMs, nodes }];
    }
    if (req.method === 'GET' && path === '/v1/backends') {
      admin(req);
      return [200, { now, backends: await registry.listBackends(now) }];
    }
    throw new AgentError('NOT_FOUND', `no route ${req.method} ${path}`);
  };

  /** A farmer's admissions of stores, with the farm's token as bearer. */
  const farmStoresRoute = async (
    req: http.IncomingMessage,
    farmId: number,
    store: string | undefined,
    now: number,
  ): Promise<[number, unknown]> => {
    // Same answer for another farm's token as for a wrong one.
    if ((await registry.farmOfToken(bearer(req) ?? '')) !== farmId)
      throw new AgentError('BAD_FARM_TOKEN', 'unknown farm or wrong farmer token');
    if (req.method === 'GET' && store === undefined) return [200, { stores: await registry.listAdmissions(farmId) }];
    if (req.method === 'DELETE' && store !== undefined) {
      if (!(await registry.revokeStore(farmId, store)))
        throw new AgentError('NOT_FOUND', `store ${store} is not admitted in farm ${farmId}`);
      return [200, { farmId, store }];
    }
    if (req.method !== 'POST' || store !== undefined)
      throw new AgentError('NOT_FOUND', `no route ${req.method} ${req.url}`);
    const b = check(
      fields({
        store: publicKeySchema,
        rights: rightsSchema,
        node: publicKeySchema.optional(),
        expires: int(now + 1).optional(),
      }),
      await readJson(req),
      'body',
    );
    return [
      201,
      await registry.admitStore(
        farmId,
        { store: b.store, rights: b.rights, node: b.node ?? null, expires: b.expires ?? null },
        now,
      ),
    ];
  };

  const service = jsonService(route, log);
  return {
    registry,
    listen: service.listen,
    close: async () => {
      await service.close();
      await registry.close();
    },
  };
}
