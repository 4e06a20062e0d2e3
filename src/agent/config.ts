import fs from 'node:fs';
import path from 'node:path';
import { AgentError } from './errors.js';
import { fields, httpUrl, int, list, num, text } from '../util/schema.js';
import { publicKeySchema, rightsSchema, type Right } from './grants.js';
import { check } from './validate.js';

/** `qstor agent --config FILE`: the JSON file, every field checked (see src/agent/README.md). */
export interface AgentConfig {
  /** Base URL of the registry. */
  registry: string;
  /** The farmer token `qstor admin farm create` printed (`<farmId>.<secret>`). */
  farmToken: string;
  /** The farm this node belongs to: the number in front of the farm token. */
  farmId: number;
  /** Stores this node acts for without a registry grant (public key → rights). */
  stores: Map<string, Right[]>;
  /** The registry key grants must be signed by; null: pinned at the first registration. */
  registryKey: string | null;
  /** Directories, one per disk; each gets one zdb (`<disk>/zdb/{data,index}`). */
  disks: string[];
  /** The agent's API: the address it listens on, always named in the config (no wildcard by default). */
  listenHost: string;
  listenPort: number;
  /** The URL the agent reports for its API; default http://<first address>:<listenPort>. */
  agentUrl: string;
  /** disk i's zdb listens on zdbBasePort + i. */
  zdbBasePort: number;
  /** Default: listenHost. */
  zdbListen: string;
  /** Bytes of each disk never promised to reservations; null: 1% of the disk, at least 64 MiB. */
  keepFreeBytes: number | null;
  /** Agent state (namespace owners); holds the identity too unless identityFile says otherwise. */
  stateDir: string;
  identityFile: string;
  /** Addresses reported to the registry; default: detected non-loopback, then loopback. */
  addresses: string[] | null;
  heartbeatMs: number;
}

const storeEntry = fields({ key: publicKeySchema, rights: rightsSchema });

const configFile = fields({
  registry: httpUrl(),
  farmToken: text().regex(/^\d+\./, 'must be the farmer token `qstor admin farm create` printed (<farmId>.<secret>)'),
  registryKey: publicKeySchema.optional(),
  stores: list(storeEntry, 4096).default([]),
  disks: list(text(), 64).min(1, 'needs at least one disk'),
  // Required: the API serves only admitted stores, but which network sees it is the farmer's call.
  listenHost: text({
    missing: 'name the address the agent API listens on (127.0.0.1, a node address, or 0.0.0.0 for every one)',
  }),
  listenPort: int(1, 65535),
  agentUrl: httpUrl().optional(),
  zdbBasePort: int(1, 65535).default(9900),
  zdbListen: text().optional(),
  keepFreeBytes: int().optional(),
  stateDir: text(),
  identityFile: text().optional(),
  addresses: list(text(), 64).min(1, 'leave it out to detect them, or name at least one').optional(),
  heartbeatSeconds: num(0.1).default(10),
}).superRefine((c, ctx) => {
  if (c.zdbBasePort + c.disks.length - 1 > 65535)
    ctx.addIssue({
      code: 'custom',
      path: ['zdbBasePort'],
      message: `must be an integer from 1 to ${65535 - c.disks.length + 1} (one port per disk)`,
    });
});

/** Reads and checks the config file; relative paths are relative to the file's directory. */
export function loadAgentConfig(file: string): AgentConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AgentError('CONFIG', `${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseAgentConfig(raw, path.dirname(path.resolve(file)));
}

export function parseAgentConfig(raw: unknown, baseDir: string): AgentConfig {
  const c = check(configFile, raw, 'config', 'CONFIG');
  const abs = (p: string) => path.resolve(baseDir, p);
  const disks = c.disks.map(abs);
  if (new Set(disks).size !== disks.length) throw new AgentError('CONFIG', 'config.disks: the same path twice');
  const stateDir = abs(c.stateDir);
  return {
    registry: c.registry,
    farmToken: c.farmToken,
    farmId: Number(/^(\d+)\./.exec(c.farmToken)![1]),
    stores: new Map(c.stores.map((s) => [s.key, s.rights])),
    registryKey: c.registryKey ?? null,
    disks,
    listenHost: c.listenHost,
    listenPort: c.listenPort,
    agentUrl: c.agentUrl ?? '',
    zdbBasePort: c.zdbBasePort,
    zdbListen: c.zdbListen ?? c.listenHost,
    keepFreeBytes: c.keepFreeBytes ?? null,
    stateDir,
    identityFile: c.identityFile === undefined ? path.join(stateDir, 'identity.key') : abs(c.identityFile),
    addresses: c.addresses ?? null,
    heartbeatMs: Math.round(1000 * c.heartbeatSeconds),
  };
}
