import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Logger } from 'pino';
import { diskSpace, type Disk } from './capacity.js';
import { AgentError } from './errors.js';
import type { NamespaceRecord, StateFile } from './state-file.js';
import { fields, int, oneOf, text } from '../util/schema.js';
import { check } from './validate.js';

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

const createRequest = fields({
  size: int(1),
  mode: oneOf(['user', 'seq']).default('user'),
  name: text()
    .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'lowercase letters, digits, - and _, at most 32')
    .optional(),
  disk: text().optional(),
});

export function parseCreateRequest(v: unknown): CreateRequest {
  return check(createRequest, v, 'body');
}

export interface NamespacesOptions {
  disks: readonly Disk[];
  stateFile: StateFile;
  addresses: () => string[];
  /** Bytes of each filesystem never promised; null: 1% of it, at least MIN_KEEP_FREE_BYTES. */
  keepFreeBytes: number | null;
  log: Logger;
}

const MIN_KEEP_FREE_BYTES = 64 * 1024 * 1024;

/** What a disk can still promise: its free bytes, less what reservations may still write, less the margin. */
interface Room {
  disk: Disk;
  free: number;
  /** Reserved on this filesystem and not yet written: each namespace's size less what it holds. */
  unwritten: number;
  keepFree: number;
  /** free - unwritten - keepFree (may be negative). */
  available: number;
}

/**
 * Namespace reservations on this node's zdbs, as Zero-OS's zdb workloads: NSNEW, then NSSET
 * mode / maxsize / password / public 0, so the namespace is private and opens only with its
 * password. The owner (the store's identity id) of each one is kept in the state file, and every
 * operation other than create checks it. A reservation is a promise of space: what the
 * namespaces on a filesystem may still write, plus the new size, must fit in its free space
 * less a margin (INSUFFICIENT_STORAGE, 507, otherwise); a resize that grows counts the same way.
 * One operation at a time: names, state, the zdbs and the promised space change together.
 */
export class Namespaces {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly disks: readonly Disk[];
  private readonly stateFile: StateFile;
  private readonly log: Logger;

  constructor(private readonly o: NamespacesOptions) {
    this.disks = o.disks;
    this.stateFile = o.stateFile;
    this.log = o.log;
  }

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
      this.stateFile.state.namespaces[namespace] = {
        owner,
        disk: disk.name,
        size: req.size,
        mode: req.mode,
        locked: false,
        created: Date.now(),
      };
      this.stateFile.save();
      this.log.info({ namespace, owner, disk: disk.name, size: req.size, mode: req.mode }, 'namespace created');
      const addresses = this.o.addresses();
      return {
        namespace,
        host: addresses[0]!,
        port: disk.zdb.port,
        addresses,
        password,
        disk: disk.name,
        size: req.size,
        mode: req.mode,
      };
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
      if (size > record.size) {
        const room = await this.room(disk, namespace);
        const more = size - (await this.written(disk, namespace, record.size));
        if (more > room.available) throw insufficient(room, `growing ${namespace} to ${size} bytes needs ${more} more`);
      }
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

  /** The disk asked for, or the running one with most room; the reservation must fit in its room. */
  private async pickDisk(req: CreateRequest): Promise<Disk> {
    const candidates = (req.disk === undefined ? this.disks : [this.disk(req.disk)]).filter(
      (d) => d.zdb.pid !== undefined,
    );
    if (candidates.length === 0)
      throw new AgentError('UNAVAILABLE', `no disk${req.disk ? ` ${req.disk}` : ''} with a running zdb`);
    let best: Room | undefined;
    for (const disk of candidates) {
      const room = await this.room(disk);
      if (!best || room.available > best.available) best = room;
    }
    if (req.size > best!.available) throw insufficient(best!, `${req.size} bytes asked`);
    return best!.disk;
  }

  /**
   * The room on `disk`'s filesystem, counting the reservations of every disk of this node on
   * the same filesystem (two disk directories on one device share its space), `except` one
   * namespace (the one being resized).
   */
  private async room(disk: Disk, except?: string): Promise<Room> {
    const { totalBytes, freeBytes } = await diskSpace(disk.path);
    const device = fs.statSync(disk.path).dev;
    const sharing = this.disks.filter((d) => fs.statSync(d.path).dev === device);
    let unwritten = 0;
    for (const [namespace, record] of Object.entries(this.stateFile.state.namespaces)) {
      const d = sharing.find((x) => x.name === record.disk);
      if (namespace === except || !d) continue;
      unwritten += record.size - (await this.written(d, namespace, record.size));
    }
    const keepFree = this.o.keepFreeBytes ?? Math.max(MIN_KEEP_FREE_BYTES, Math.ceil(totalBytes / 100));
    return { disk, free: freeBytes, unwritten, keepFree, available: freeBytes - unwritten - keepFree };
  }

  /** Bytes a namespace holds (already out of the free space), at most its size; 0 when its zdb does not answer (the whole size stays promised). */
  private async written(disk: Disk, namespace: string, size: number): Promise<number> {
    try {
      return Math.min(size, (await disk.zdb.admin.nsinfo(namespace)).dataSizeBytes);
    } catch {
      return 0;
    }
  }
}

function insufficient(r: Room, asked: string): AgentError {
  return new AgentError(
    'INSUFFICIENT_STORAGE',
    `${r.disk.name}: ${asked}; ${r.free} bytes free, ${r.unwritten} reserved and not yet written, ${r.keepFree} kept free: ${Math.max(0, r.available)} bytes can be reserved`,
  );
}
