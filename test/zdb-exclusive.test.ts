/**
 * One zdb per data and index directory, and reads that never answer another key's value.
 * Two zdb processes on one --data/--index used to load (and repair) the same files, append
 * at the same offsets, and the first one's GET returned the second's value for another key.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ZdbClient } from '../src/zdb-client/index.js';
import { DirLockError } from '../src/util/dir-lock.js';
import { Engine } from '../zdb/engine/engine.js';
import { EngineError } from '../zdb/engine/errors.js';
import { DATA_ENTRY_HEADER_SIZE, DATA_HEADER_SIZE, IndexMode, writeDataEntryHeader } from '../zdb/engine/format.js';
import { hashKey } from '../zdb/engine/key-hash.js';
import { zdbCrc32c } from '../zdb/engine/crc32c.js';
import { freePort, startZdb, type ZdbProcess } from './helpers/zdb-process.js';

const ZDB = path.resolve('bin/zdb.js');

/** sha256 of every file under `dir`, by relative path. */
function hashTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  }
  return out;
}

/** Runs a second zdb to its exit (or 5 s): its exit code and stderr. */
function runSecond(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ZDB, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('zdb: one process per data and index directory', () => {
  let first: ZdbProcess | undefined;
  afterEach(async () => {
    await first?.stop();
    first = undefined;
  });

  it('a second zdb on the same directories exits non-zero naming the holder, and touches no file', async () => {
    first = await startZdb({ bin: ZDB, args: ['--sync'] });
    const client = new ZdbClient({ port: first.port, connections: 1 });
    for (let i = 0; i < 50; i++) await client.set(`zk${i}`, `value ${i}`);
    // A torn tail the second start would have cut if it had loaded the files.
    fs.appendFileSync(path.join(first.dataDir, 'default', 'd0'), Buffer.from('torn'));
    const dataBefore = hashTree(first.dataDir);
    const indexBefore = hashTree(first.indexDir);

    const second = await runSecond([
      '--listen',
      '127.0.0.1',
      '--port',
      String(await freePort()),
      '--data',
      first.dataDir,
      '--index',
      first.indexDir,
    ]);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain(`pid ${first.pid}`);
    expect(second.stderr).toContain(first.dataDir);

    // Sharing only the index directory is refused too.
    const otherData = fs.mkdtempSync(path.join(os.tmpdir(), 'zdb-other-'));
    const third = await runSecond([
      '--listen',
      '127.0.0.1',
      '--port',
      String(await freePort()),
      '--data',
      otherData,
      '--index',
      first.indexDir,
    ]);
    fs.rmSync(otherData, { recursive: true, force: true });
    expect(third.code).not.toBe(0);
    expect(third.stderr).toContain(`pid ${first.pid}`);

    expect(hashTree(first.dataDir)).toEqual(dataBefore);
    expect(hashTree(first.indexDir)).toEqual(indexBefore);
    expect((await client.get('zk1'))?.toString()).toBe('value 1');
    await client.close();
  });

  it('one directory for both data and index is locked once, and freed when the holder exits', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zdb-same-'));
    try {
      first = await startZdb({ bin: ZDB, dataDir: dir, indexDir: dir });
      const again = await runSecond([
        '--listen',
        '127.0.0.1',
        '--port',
        String(await freePort()),
        '--data',
        dir,
        '--index',
        dir,
      ]);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain(`pid ${first.pid}`);
      first = await first.restart();
      const c = new ZdbClient({ port: first.port, connections: 1 });
      await c.ping();
      await c.close();
    } finally {
      await first?.stop();
      first = undefined;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('zdb engine: reads check the stored key', () => {
  const dirs: string[] = [];
  const engines: Engine[] = [];
  afterEach(() => {
    for (const e of engines.splice(0)) e.close();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function openEngine(dir?: string): Engine {
    const root = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'zdb-engine-'));
    if (!dir) dirs.push(root);
    const engine = new Engine({
      dataDir: path.join(root, 'data'),
      indexDir: path.join(root, 'index'),
      mode: null,
      datasize: 1 << 20,
      defaultMaxsize: 0,
      defaultPassword: '',
      durable: false,
    });
    engine.open();
    engines.push(engine);
    return engine;
  }

  it('a second engine on the same directories is refused before it reads anything', () => {
    const engine = openEngine();
    const root = path.dirname(engine.opts.dataDir);
    expect(() => openEngine(root)).toThrow(DirLockError);
    try {
      openEngine(root);
    } catch (e) {
      expect((e as DirLockError).code).toBe('DIR_LOCKED');
      expect((e as DirLockError).message).toContain(`pid ${process.pid}`);
    }
  });

  /** Writes the data entry another process would append for (key, value) at `offset` of d0. */
  function foreignEntry(file: string, offset: number, key: Buffer, value: Buffer): void {
    const entry = Buffer.alloc(DATA_ENTRY_HEADER_SIZE + key.length + value.length);
    writeDataEntryHeader(entry, 0, {
      keyLength: key.length,
      dataLength: value.length,
      previous: 0,
      crc: zdbCrc32c(value),
      flags: 0,
      timestamp: 1,
    });
    key.copy(entry, DATA_ENTRY_HEADER_SIZE);
    value.copy(entry, DATA_ENTRY_HEADER_SIZE + key.length);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, entry, 0, entry.length, offset);
    fs.closeSync(fd);
  }

  it('GET of a key whose entry on disk was overwritten by another writer returns nil, never the other value', () => {
    const ns = openEngine().get('default')!;
    ns.set(Buffer.from('zk1'), Buffer.from('value-one'));
    foreignEntry(ns.files.dataPath(0), DATA_HEADER_SIZE, Buffer.from('zk2'), Buffer.from('value-two'));
    expect(ns.get(Buffer.from('zk1'))).toBeNull();
    expect(ns.check(Buffer.from('zk1'))).toBe(false);
  });

  it('GET of a key another writer rewrote with a value of the same length returns nil, not that value', () => {
    const ns = openEngine().get('default')!;
    ns.set(Buffer.from('k'), Buffer.from('AAAA'));
    foreignEntry(ns.files.dataPath(0), DATA_HEADER_SIZE, Buffer.from('k'), Buffer.from('BBBB'));
    expect(ns.get(Buffer.from('k'))).toBeNull();
  });

  it('keys whose 32-bit hashes collide each keep their own value', () => {
    // Found by a birthday search over 'k' + base-36 counters: same 32-bit FNV-1a hash.
    const [a, b] = [Buffer.from('k4uzx'), Buffer.from('kf2ad')];
    expect(hashKey(a)).toBe(hashKey(b));
    const ns = openEngine().get('default')!;
    ns.set(a, Buffer.from('value of a'));
    expect(ns.get(b)).toBeNull();
    ns.set(b, Buffer.from('value of b'));
    expect(ns.get(a)?.toString()).toBe('value of a');
    expect(ns.get(b)?.toString()).toBe('value of b');
    ns.del(a);
    expect(ns.get(a)).toBeNull();
    expect(ns.get(b)?.toString()).toBe('value of b');
  });

  it('a broken invariant throws a typed error before anything is written', () => {
    const ns = openEngine().get('default')!;
    ns.set(Buffer.from('k'), Buffer.from('v'));
    ns.files.flushIndex();
    const index = fs.readFileSync(ns.files.indexPath(0));
    const data = fs.readFileSync(ns.files.dataPath(0));
    const broken = (f: () => void): void => {
      expect(f).toThrow(EngineError);
      try {
        f();
      } catch (e) {
        expect((e as EngineError).code).toBe('INVARIANT');
      }
    };
    broken(() => ns.files.writeIndexAt(0, index.length - 2, Buffer.alloc(8))); // past the end
    broken(() => ns.files.writeIndexAt(0, 3, Buffer.alloc(8))); // over the header
    broken(() => ns.files.openHead(5, IndexMode.User)); // file ids go up one at a time
    broken(() => ns.files.truncateHead(4, index.length)); // into the header
    expect(fs.existsSync(ns.files.dataPath(5))).toBe(false);
    expect(fs.readFileSync(ns.files.indexPath(0))).toEqual(index);
    expect(fs.readFileSync(ns.files.dataPath(0))).toEqual(data);
    expect(ns.get(Buffer.from('k'))?.toString()).toBe('v');
  });
});
