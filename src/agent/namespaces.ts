import crypto from 'node:crypto';
import type { Logger } from 'pino';
import { diskSpace, type Disk } from './capacity.js';
import { AgentError } from './errors.js';
import type { NamespaceRecord, StateFile } from './state-file.js';
import { body } from './validate.js';

/** What the reserving store is told, once: where the namespace is and its password. */
export interface Reservation {
  namespace: string;
  /** The node's first address; `addresses` has all of them. */
  host: string;
  port: number;
  addresses: string[];
  password: string;
  disk: string;
  size: number;
  mode: 'user' | 'seq';
}

export type NamespaceSummary = Omit<NamespaceRecord, 'owner'> & { namespace: string; port: number };

export interface CreateRequest {
  /** maxsize in bytes. */
  size: number;
  mode: 'user' | 'seq';
  /** Suffix of the namespace name (the agent prefixes the owner's id); random when left out. */
  name?: string;
  /** A disk of the node (`disk0`); the one with most free space when left out. */
  disk?: string;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export function parseCreateRequest(v: unknown): CreateRequest {
  const o = body.object(v, 'body');
  body.only(o, 'body', ['size', 'mode', 'name', 'disk']);
  const name = o['name'] === undefined ? undefined : body.string(o['name'], 'body.name');
  if (name !== undefined && !NAME.test(name)) body.fail('body.name', 'lowercase letters, digits, - and _, at most 32');
  return {
    size: body.int(o['size'], 'body.size', 1),
    mode: body.oneOf(o['mode'] ?? 'user', 'body.mode', ['user', 'seq'] as const),
    name,
    disk: o['disk'] === undefined ? undefined : body.string(o['disk'], 'body.disk'),
  };
}

/**
 * Namespace reservations on this node's zdbs, as Zero-OS's zdb workloads: NSNEW, then NSSET
 * mode / maxsize / password / public 0, so the namespace is private and opens only with its
 * password. The owner (the store's identity id) of each one is kept in the state file, and every
 * operation other than create checks it. One operation at a time: names, state and the zdbs
 * change together.
 */
export class Namespaces {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly disks: readonly Disk[],
    private readonly stateFile: StateFile,
    private readonly addresses: () => string[],
    private readonly log: Logger,
  ) {}

  create(owner: string, req: CreateRequest): Promise<Reservation> {
    return this.exclusive(async () => {
      const namespace = `${owner.slice(0, 12)}-${req.name ?? crypto.randomBytes(4).toString('hex')}`;
      if (this.stateFile.state.namespaces[namespace]) throw new AgentError('CONFLICT', `namespace ${namespace} exists`);
      const disk = await this.pickDisk(req);
      const password = crypto.randomBytes(24).toString('base64url');
      const admin = disk.zdb.admin;
      await admin.nsnew(namespace);
      try {
        await admin.nsset(namespace, 'mode', req.mode);
        await admin.nsset(namespace, 'maxsize', req.size);
        await admin.nsset(namespace, 'password', password);
        await admin.nsset(namespace, 'public', 0);
      } catch (err) {
        await admin.nsdel(namespace).catch(() => undefined);
        throw err;
      }
      this.stateFile.state.namespaces[namespace] = { owner, disk: disk.name, size: req.size, mode: req.mode, locked: false, created: Date.now() };
      this.stateFile.save();
      this.log.info({ namespace, owner, disk: disk.name, size: req.size, mode: req.mode }, 'namespace created');
      const addresses = this.addresses();
      return { namespace, host: addresses[0]!, port: disk.zdb.port, addresses, password, disk: disk.name, size: req.size, mode: req.mode };
    });
  }

  /** The owner's namespaces (never a password: the store was told it at creation). */
  list(owner: string): NamespaceSummary[] {
    return Object.entries(this.stateFile.state.namespaces)
      .filter(([, r]) => r.owner === owner)
      .map(([namespace, { owner: _owner, ...r }]) => ({ namespace, port: this.disk(r.disk).zdb.port, ...r }));
  }

  resize(owner: string, namespace: string, size: number): Promise<void> {
    return this.exclusive(async () => {
      const { record, disk } = this.owned(owner, namespace);
      await disk.zdb.admin.nsset(namespace, 'maxsize', size);
      record.size = size;
      this.stateFile.save();
      this.log.info({ namespace, size }, 'namespace resized');
    });
  }

  /** Read-only (NSSET lock 1), Zero-OS's pause; `locked: false` opens it again. */
  lock(owner: string, namespace: string, locked: boolean): Promise<void> {
    return this.exclusive(async () => {
      const { record, disk } = this.owned(owner, namespace);
      await disk.zdb.admin.nsset(namespace, 'lock', locked ? 1 : 0);
      record.locked = locked;
      this.stateFile.save();
      this.log.info({ namespace, locked }, 'namespace lock changed');
    });
  }

  delete(owner: string, namespace: string): Promise<void> {
    return this.exclusive(async () => {
      const { disk } = this.owned(owner, namespace);
      await disk.zdb.admin.nsdel(namespace);
      delete this.stateFile.state.namespaces[namespace];
      this.stateFile.save();
      this.log.info({ namespace }, 'namespace deleted');
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private owned(owner: string, namespace: string): { record: NamespaceRecord; disk: Disk } {
    const record = this.stateFile.state.namespaces[namespace];
    if (!record) throw new AgentError('NOT_FOUND', `no namespace ${namespace} on this node`);
    if (record.owner !== owner) throw new AgentError('NOT_OWNER', `namespace ${namespace} belongs to another store`);
    return { record, disk: this.disk(record.disk) };
  }

  private disk(name: string): Disk {
    const d = this.disks.find((x) => x.name === name);
    if (!d) throw new AgentError('NOT_FOUND', `no disk ${name} on this node`);
    return d;
  }

  private async pickDisk(req: CreateRequest): Promise<Disk> {
    const candidates = req.disk === undefined ? this.disks : [this.disk(req.disk)];
    let best: { disk: Disk; free: number } | undefined;
    for (const disk of candidates) {
      if (disk.zdb.pid === undefined) continue;
      const { freeBytes } = await diskSpace(disk.path);
      if (freeBytes >= req.size && (!best || freeBytes > best.free)) best = { disk, free: freeBytes };
    }
    if (!best) throw new AgentError('UNAVAILABLE', `no disk${req.disk ? ` ${req.disk}` : ''} with a running zdb and ${req.size} bytes free`);
    return best.disk;
  }
}
