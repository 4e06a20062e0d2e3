import path from 'node:path';
import type { Logger } from 'pino';
import { Admission } from './admission.js';
import { createAgentApi } from './agent-api.js';
import { measureCapacity, type Disk } from './capacity.js';
import type { AgentConfig } from './config.js';
import { AgentError } from './errors.js';
import { loadOrCreateIdentity } from './identity.js';
import { Namespaces } from './namespaces.js';
import { detectAddresses, hostPort } from './network.js';
import { RegistryClient } from './registry/client.js';
import type { NodeReport } from './report.js';
import { Signer } from './signed.js';
import { StateFile } from './state-file.js';
import { Workloads } from './workloads.js';
import { SupervisedZdb } from './zdb-supervisor.js';

export interface RunningAgent {
  nodeId: string;
  stop(): Promise<void>;
}

/** Registration refusals that no retry can fix: the agent stops with the reason. */
const FATAL: ReadonlySet<string> = new Set(['BAD_FARM_TOKEN', 'FARM_MISMATCH', 'BAD_REQUEST']);

/**
 * The node agent: identity, one supervised zdb per disk, the reservation API, then
 * registration and a heartbeat every `heartbeatMs` with capacity and free space. A registry
 * that forgot the node (UNKNOWN_NODE) gets a new registration; one that is unreachable is
 * tried again at the next beat. A refusal that retrying cannot fix (a wrong farm token) fails
 * the start, or later goes to `onFatal`.
 */
export async function startAgent(
  config: AgentConfig,
  log: Logger,
  onFatal: (err: AgentError) => void,
): Promise<RunningAgent> {
  const identity = loadOrCreateIdentity(config.identityFile);
  const signer = new Signer(identity);
  log.info({ nodeId: identity.id }, 'node identity');
  const stateFile = new StateFile(path.join(config.stateDir, 'agent-state.json'));
  // Detected again for every report: a node whose address changes tells the registry at the next beat.
  const addresses = (): string[] => config.addresses ?? detectAddresses();
  const disks: Disk[] = config.disks.map((p, i) => {
    const name = `disk${i}`;
    return {
      name,
      path: p,
      zdb: new SupervisedZdb({ name, disk: p, port: config.zdbBasePort + i, listen: config.zdbListen, log }),
    };
  });
  const workloads = new Workloads(log);
  const admission = new Admission({
    stores: config.stores,
    farmId: config.farmId,
    nodeId: identity.id,
    registryKey: () => config.registryKey ?? stateFile.state.registryKey,
  });
  const namespaces = new Namespaces({ disks, stateFile, addresses, keepFreeBytes: config.keepFreeBytes, log });
  const api = createAgentApi({ nodeId: identity.id, admission, namespaces, workloads, stateFile, log });
  const stopZdbs = () => Promise.all(disks.map((d) => d.zdb.stop()));
  try {
    await Promise.all(disks.map((d) => d.zdb.start()));
    await api.listen(config.listenPort, config.listenHost);
  } catch (err) {
    await stopZdbs();
    throw err;
  }
  const wildcard = config.listenHost === '0.0.0.0' || config.listenHost === '::';
  const agentUrl =
    config.agentUrl ||
    `http://${hostPort(wildcard ? (addresses()[0] ?? '127.0.0.1') : config.listenHost, config.listenPort)}`;
  log.info(
    { agentUrl, addresses: addresses(), disks: disks.map((d) => ({ disk: d.name, path: d.path, port: d.zdb.port })) },
    'agent listening',
  );

  const registry = new RegistryClient(config.registry);
  const report = async (): Promise<NodeReport> => ({
    addresses: addresses(),
    agentUrl,
    capacity: await measureCapacity(disks),
  });
  let registered = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  /** One registration or heartbeat; a refusal no retry can fix is returned, anything else retried next beat. */
  const beat = async (): Promise<AgentError | undefined> => {
    try {
      if (!registered) {
        const { registryKey } = await registry.register(signer, config.farmToken, await report());
        registered = true;
        pinRegistryKey(registryKey);
        log.info({ registry: registry.url }, 'registered');
      } else {
        await registry.heartbeat(signer, await report());
      }
    } catch (err) {
      if (err instanceof AgentError && err.code === 'UNKNOWN_NODE') registered = false;
      if (err instanceof AgentError && FATAL.has(err.code) && !registered) return err;
      log.warn(
        { code: (err as AgentError).code, msg: (err as Error).message },
        registered ? 'heartbeat failed' : 'registration failed',
      );
    }
    return undefined;
  };
  /** Trust on first use: the first registry key heard is kept for good (unless the config names one). */
  const pinRegistryKey = (heard: string): void => {
    const trusted = config.registryKey ?? stateFile.state.registryKey;
    if (trusted === undefined) {
      stateFile.state.registryKey = heard;
      stateFile.save();
      log.info({ registryKey: heard }, 'registry key pinned');
    } else if (trusted !== heard) {
      log.warn(
        { trusted, heard },
        'the registry answered with another key; grants are still checked against the trusted one',
      );
    }
  };
  const loop = (): void => {
    timer = setTimeout(() => {
      void beat().then((fatal) => (fatal ? onFatal(fatal) : stopped || loop()));
    }, config.heartbeatMs);
  };
  const first = await beat();
  if (first) {
    await api.close();
    await stopZdbs();
    throw first;
  }
  loop();

  return {
    nodeId: identity.id,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await api.close();
      await workloads.stopAll();
      await stopZdbs();
    },
  };
}
