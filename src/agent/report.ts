import { body } from './validate.js';

/** One zdb of a node, as its agent sees it. */
export interface ZdbReport {
  port: number;
  /** 'up' when the zdb answered NSINFO for this heartbeat. */
  state: 'up' | 'down';
  /** Namespaces on it, `default` excluded. */
  namespaces: number;
  /** Data bytes of those namespaces. */
  usedBytes: number;
}

export interface DiskReport {
  /** Stable within the node: the disk's position in the agent's config (`disk0`, `disk1`, ...). */
  name: string;
  totalBytes: number;
  freeBytes: number;
  zdb: ZdbReport;
}

export interface Capacity {
  cores: number;
  memoryBytes: number;
  disks: DiskReport[];
}

/** What a node says about itself in a registration and every heartbeat. */
export interface NodeReport {
  /** Addresses the node is reachable at (its zdbs listen there), most preferred first. */
  addresses: string[];
  /** Base URL of the agent's API (namespace reservations). */
  agentUrl: string;
  capacity: Capacity;
}

export function parseNodeReport(v: unknown, where = 'body'): NodeReport {
  const o = body.object(v, where);
  const c = body.object(o['capacity'], `${where}.capacity`);
  return {
    addresses: body.array(o['addresses'], `${where}.addresses`, (x, w) => body.string(x, w), 64),
    agentUrl: body.url(o['agentUrl'], `${where}.agentUrl`),
    capacity: {
      cores: body.int(c['cores'], `${where}.capacity.cores`, 1),
      memoryBytes: body.int(c['memoryBytes'], `${where}.capacity.memoryBytes`),
      disks: body.array(c['disks'], `${where}.capacity.disks`, parseDisk, 256),
    },
  };
}

function parseDisk(v: unknown, where: string): DiskReport {
  const d = body.object(v, where);
  const z = body.object(d['zdb'], `${where}.zdb`);
  return {
    name: body.string(d['name'], `${where}.name`),
    totalBytes: body.int(d['totalBytes'], `${where}.totalBytes`),
    freeBytes: body.int(d['freeBytes'], `${where}.freeBytes`),
    zdb: {
      port: body.int(z['port'], `${where}.zdb.port`, 1, 65535),
      state: body.oneOf(z['state'], `${where}.zdb.state`, ['up', 'down'] as const),
      namespaces: body.int(z['namespaces'], `${where}.zdb.namespaces`),
      usedBytes: body.int(z['usedBytes'], `${where}.zdb.usedBytes`),
    },
  };
}
