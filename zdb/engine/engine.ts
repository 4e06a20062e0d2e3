import fs from 'node:fs';
import path from 'node:path';
import { EngineError, Errors } from './errors.js';
import { IndexMode, NS_DESCRIPTOR_FILE, decodeNamespaceDescriptor, encodeNamespaceDescriptor } from './format.js';
import { lockDir, type DirLock } from '../../src/util/dir-lock.js';
import { GroupCommit } from '../../src/util/group-commit.js';
import { finishInterrupted } from './compaction.js';
import { loadNamespace, recordedMode, type LoadReport } from './loader.js';
import { Namespace } from './namespace.js';

export const DEFAULT_NAMESPACE = 'default';

export interface EngineOptions {
  dataDir: string;
  indexDir: string;
  /** null: mixed mode, each namespace chooses (user until set otherwise). */
  mode: IndexMode | null;
  datasize: number;
  /** Maximum size of the default namespace (0: none). */
  defaultMaxsize: number;
  /** Password of the default namespace (--protect: the admin password). */
  defaultPassword: string;
  /** Whether anything is ever fsynced (--sync or --synctime). */
  durable: boolean;
  /** Drop each head data file's synced bytes from the page cache after every group commit. */
  evictSynced?: boolean;
}

/** The storage engine: every namespace of one zdb, with no knowledge of the protocol. */
export class Engine {
  readonly namespaces = new Map<string, Namespace>();
  readonly commit: GroupCommit;
  private locks: DirLock[] = [];

  constructor(readonly opts: EngineOptions) {
    const evict = opts.evictSynced === true;
    this.commit = new GroupCommit(
      opts.durable,
      () => {
        for (const ns of this.namespaces.values()) {
          ns.files.flushIndex();
          if (evict) ns.files.noteSyncStart();
        }
      },
      evict
        ? () => {
            for (const ns of this.namespaces.values()) ns.files.evictSynced();
          }
        : undefined,
    );
  }

  /**
   * Locks the data and index directories, then loads (or creates) `default` and every
   * namespace found in the index directory. Throws DirLockError (DIR_LOCKED, with the holder's
   * pid) when another process holds either: loading repairs files, so even a second start that
   * would fail later must not read them.
   */
  open(): Map<string, LoadReport> {
    fs.mkdirSync(this.opts.dataDir, { recursive: true });
    fs.mkdirSync(this.opts.indexDir, { recursive: true });
    this.lockDirectories();
    const reports = new Map<string, LoadReport>();
    reports.set(DEFAULT_NAMESPACE, this.load(DEFAULT_NAMESPACE).report);
    const def = this.namespaces.get(DEFAULT_NAMESPACE)!;
    if (this.opts.defaultPassword) def.settings.password = this.opts.defaultPassword;
    if (this.opts.defaultMaxsize) def.settings.maxsize = this.opts.defaultMaxsize;
    for (const entry of fs.readdirSync(this.opts.indexDir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === DEFAULT_NAMESPACE || !validNamespaceName(entry.name)) continue;
      reports.set(entry.name, this.load(entry.name).report);
    }
    return reports;
  }

  get(name: string): Namespace | undefined {
    return this.namespaces.get(name);
  }

  create(name: string): Namespace {
    if (this.namespaces.has(name)) throw Errors.nsExists();
    if (!validNamespaceName(name)) throw Errors.invalidName();
    return this.load(name).ns;
  }

  /** Removes a namespace and its files (the caller checked nobody else uses it). */
  remove(name: string): void {
    const ns = this.namespaces.get(name);
    if (!ns) throw Errors.nsNotFound();
    ns.files.close();
    this.namespaces.delete(name);
    fs.rmSync(path.join(this.opts.dataDir, name), { recursive: true, force: true });
    fs.rmSync(path.join(this.opts.indexDir, name), { recursive: true, force: true });
  }

  /** Persist the descriptor (password, maxsize, public, worm) of a namespace. */
  saveDescriptor(ns: Namespace): void {
    const file = path.join(this.opts.indexDir, ns.name, NS_DESCRIPTOR_FILE);
    const tmp = `${file}.tmp`;
    const body = encodeNamespaceDescriptor({
      name: ns.name,
      password: ns.name === DEFAULT_NAMESPACE && this.opts.defaultPassword ? '' : ns.settings.password,
      maxsize: ns.name === DEFAULT_NAMESPACE && this.opts.defaultMaxsize ? 0 : ns.settings.maxsize,
      public: ns.settings.public,
      worm: ns.settings.worm,
    });
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, body);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  }

  /** FLUSH: drop every entry of a namespace, keeping its settings. */
  flush(ns: Namespace): void {
    this.reset(ns, ns.mode);
  }

  /**
   * Recreate a namespace's files empty, with `mode` in their headers (NSSET mode on an
   * empty namespace, FLUSH).
   */
  reset(ns: Namespace, mode: IndexMode): void {
    ns.files.close();
    for (let id = 0; id <= ns.files.headId; id++) {
      fs.rmSync(ns.files.dataPath(id), { force: true });
      fs.rmSync(ns.files.indexPath(id), { force: true });
    }
    const fresh = this.instantiate(ns.name, mode);
    fresh.settings = ns.settings;
    loadNamespace(fresh);
    this.namespaces.set(ns.name, fresh);
  }

  close(): void {
    for (const ns of this.namespaces.values()) ns.files.close();
    for (const lock of this.locks) lock.release();
    this.locks = [];
  }

  private lockDirectories(): void {
    const data = fs.realpathSync(this.opts.dataDir);
    const index = fs.realpathSync(this.opts.indexDir);
    try {
      this.locks.push(lockDir(data, 'zdb data directory'));
      // One directory for both: a second flock on it from this process would fail.
      if (index !== data) this.locks.push(lockDir(index, 'zdb index directory'));
    } catch (e) {
      for (const lock of this.locks) lock.release();
      this.locks = [];
      throw e;
    }
  }

  private load(name: string): { ns: Namespace; report: LoadReport } {
    const indexDir = path.join(this.opts.indexDir, name);
    fs.mkdirSync(indexDir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(this.opts.dataDir, name), { recursive: true, mode: 0o700 });
    finishInterrupted(path.join(this.opts.dataDir, name), indexDir);
    const probe = this.instantiate(name, IndexMode.User);
    const onDisk = recordedMode(probe);
    const mode = onDisk ?? this.opts.mode ?? IndexMode.User;
    if (this.opts.mode !== null && onDisk !== null && onDisk !== this.opts.mode) {
      throw new EngineError(
        'MODE_MISMATCH',
        `namespace ${name} was created in ${IndexMode[onDisk]} mode, the server runs in ${IndexMode[this.opts.mode]} mode`,
      );
    }
    const ns = mode === IndexMode.User ? probe : this.instantiate(name, mode);
    const descriptor = path.join(indexDir, NS_DESCRIPTOR_FILE);
    if (fs.existsSync(descriptor) && fs.statSync(descriptor).size > 0) {
      const d = decodeNamespaceDescriptor(fs.readFileSync(descriptor));
      Object.assign(ns.settings, { password: d.password, maxsize: d.maxsize, public: d.public, worm: d.worm });
    } else {
      this.saveDescriptor(ns);
    }
    const report = loadNamespace(ns);
    this.namespaces.set(name, ns);
    return { ns, report };
  }

  private instantiate(name: string, mode: IndexMode): Namespace {
    return new Namespace({
      name,
      dataDir: path.join(this.opts.dataDir, name),
      indexDir: path.join(this.opts.indexDir, name),
      mode,
      datasize: this.opts.datasize,
      commit: this.commit,
    });
  }
}

/** 0-db's rule, plus what keeps a name a single safe path component. */
export function validNamespaceName(name: string): boolean {
  if (name.length === 0 || Buffer.byteLength(name) > 128) return false;
  if (name === '.' || name === '..' || name.includes('/') || name.includes('\0')) return false;
  return true;
}
