import { httpUrl, int, list, oneOf, record, text } from '../util/schema.js';
import { check } from './validate.js';

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

const diskReport = record({
  name: text(),
  totalBytes: int(),
  freeBytes: int(),
  zdb: record({ port: int(1, 65535), state: oneOf(['up', 'down']), namespaces: int(), usedBytes: int() }),
});

// Not closed: a registration carries its farm token beside the report.
const nodeReport = record({
  addresses: list(text(), 64),
  agentUrl: httpUrl(),
  capacity: record({ cores: int(1), memoryBytes: int(), disks: list(diskReport, 256) }),
});

export function parseNodeReport(v: unknown, where = 'body'): NodeReport {
  return check(nodeReport, v, where);
}
