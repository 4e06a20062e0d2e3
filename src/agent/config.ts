import fs from 'node:fs';
import path from 'node:path';
import { AgentError } from './errors.js';
import { parseKey, parseRights, type Right } from './grants.js';
import { Fields } from './validate.js';

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

const FIELDS = ['registry', 'farmToken', 'registryKey', 'stores', 'disks', 'listenHost', 'listenPort', 'agentUrl', 'zdbBasePort', 'zdbListen', 'keepFreeBytes', 'stateDir', 'identityFile', 'addresses', 'heartbeatSeconds'] as const;
// Typed, so that TypeScript reads a `fail` call as the end of the path.
const f: Fields = new Fields('CONFIG');

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
  const o = f.object(raw, 'config');
  f.only(o, 'config', FIELDS);
  const abs = (p: string) => path.resolve(baseDir, p);
  const disks = f.array(o['disks'], 'config.disks', (x, w) => abs(f.string(x, w)), 64);
  if (disks.length === 0) f.fail('config.disks', 'needs at least one disk');
  if (new Set(disks).size !== disks.length) f.fail('config.disks', 'the same path twice');
  const stateDir = abs(f.string(o['stateDir'], 'config.stateDir'));
  const listenPort = f.int(o['listenPort'], 'config.listenPort', 1, 65535);
  const zdbBasePort = o['zdbBasePort'] === undefined ? 9900 : f.int(o['zdbBasePort'], 'config.zdbBasePort', 1, 65535 - disks.length + 1);
  const addresses = o['addresses'] === undefined ? null : f.array(o['addresses'], 'config.addresses', (x, w) => f.string(x, w), 64);
  if (addresses?.length === 0) f.fail('config.addresses', 'leave it out to detect them, or name at least one');
  const farmToken = f.string(o['farmToken'], 'config.farmToken');
  const farm = /^(\d+)\./.exec(farmToken);
  if (!farm) f.fail('config.farmToken', 'must be the farmer token `qstor admin farm create` printed (<farmId>.<secret>)');
  // Required: the API serves only admitted stores, but which network sees it is the farmer's call.
  if (o['listenHost'] === undefined) f.fail('config.listenHost', 'name the address the agent API listens on (127.0.0.1, a node address, or 0.0.0.0 for every one)');
  const listenHost = f.string(o['listenHost'], 'config.listenHost');
  return {
    registry: f.url(o['registry'], 'config.registry'),
    farmToken,
    farmId: Number(farm[1]),
    stores: new Map(f.array(o['stores'] ?? [], 'config.stores', parseStore, 4096)),
    registryKey: o['registryKey'] === undefined ? null : parseKey(o['registryKey'], 'config.registryKey', f),
    disks,
    listenHost,
    listenPort,
    agentUrl: o['agentUrl'] === undefined ? '' : f.url(o['agentUrl'], 'config.agentUrl'),
    zdbBasePort,
    zdbListen: o['zdbListen'] === undefined ? listenHost : f.string(o['zdbListen'], 'config.zdbListen'),
    keepFreeBytes: o['keepFreeBytes'] === undefined ? null : f.int(o['keepFreeBytes'], 'config.keepFreeBytes'),
    stateDir,
    identityFile: o['identityFile'] === undefined ? path.join(stateDir, 'identity.key') : abs(f.string(o['identityFile'], 'config.identityFile')),
    addresses,
    heartbeatMs: Math.round(1000 * (o['heartbeatSeconds'] === undefined ? 10 : f.number(o['heartbeatSeconds'], 'config.heartbeatSeconds', 0.1))),
  };
}

/** `{ key, rights }`: a store the farmer admits on this node without the registry. */
function parseStore(v: unknown, where: string): [string, Right[]] {
  const o = f.object(v, where);
  f.only(o, where, ['key', 'rights']);
  return [parseKey(o['key'], `${where}.key`, f), parseRights(o['rights'], `${where}.rights`, f)];
}
