import type http from 'node:http';
import { pino, type Logger } from 'pino';
import { AgentError } from '../errors.js';
import { bearer, jsonService, readJson } from '../http.js';
import { tokensEqual } from '../tokens.js';
import { body } from '../validate.js';
import { Registry, type RegistryOptions } from './registry.js';

export interface RegistryServerOptions extends RegistryOptions {
  dbPath: string;
  /** Bearer token of the operator: farm creation and listings. */
  adminToken: string;
  logger?: Logger;
}

export interface RegistryServer {
  readonly registry: Registry;
  /** Resolves with the bound port (useful with port 0). */
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

const HEARTBEAT_PATH = /^\/v1\/nodes\/([0-9a-f]{64})\/heartbeat$/;

/**
 * The registry over HTTP (JSON). Routes, auth and bodies are listed in src/agent/README.md.
 * Requests are logged by route and outcome only: never a body, so never a token.
 */
export function createRegistryServer(o: RegistryServerOptions): RegistryServer {
  if (o.adminToken.length < 16) throw new AgentError('CONFIG', 'the registry admin token must be at least 16 characters');
  const registry = new Registry(o.dbPath, o);
  const log = o.logger ?? pino({ name: 'qstor-registry' });

  const admin = (req: http.IncomingMessage): void => {
    const t = bearer(req);
    if (t === undefined || !tokensEqual(t, o.adminToken)) throw new AgentError('UNAUTHORIZED', 'this route needs the admin bearer token');
  };

  const route = async (req: http.IncomingMessage): Promise<[number, unknown]> => {
    const path = new URL(req.url ?? '/', 'http://registry').pathname;
    const now = Date.now();
    if (req.method === 'POST' && path === '/v1/farms') {
      admin(req);
      const b = body.object(await readJson(req), 'body');
      return [201, registry.createFarm(body.string(b['name'], 'body.name'), now)];
    }
    if (req.method === 'GET' && path === '/v1/farms') {
      admin(req);
      return [200, { farms: registry.listFarms() }];
    }
    if (req.method === 'POST' && path === '/v1/nodes') {
      const node = registry.acceptRegistration(await readJson(req), now);
      return [201, { nodeId: node.id, farmId: node.farmId }];
    }
    const hb = HEARTBEAT_PATH.exec(path);
    if (req.method === 'POST' && hb) {
      const node = registry.acceptHeartbeat(hb[1]!, await readJson(req), now);
      return [200, { nodeId: node.id, lastHeartbeat: node.lastHeartbeat }];
    }
    if (req.method === 'GET' && path === '/v1/nodes') {
      admin(req);
      const nodes = registry.listNodes().map((n) => ({ ...n, state: registry.nodeState(n, now) }));
      return [200, { now, downAfterMs: registry.downAfterMs, nodes }];
    }
    if (req.method === 'GET' && path === '/v1/backends') {
      admin(req);
      return [200, { now, backends: registry.listBackends(now) }];
    }
    throw new AgentError('NOT_FOUND', `no route ${req.method} ${path}`);
  };

  const service = jsonService(route, log);
  return {
    registry,
    listen: service.listen,
    close: async () => {
      await service.close();
      registry.close();
    },
  };
}
