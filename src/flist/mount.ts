import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import Fuse from 'fuse-native';
import { BlockCache } from './block-cache.js';
import { CodecPool } from './codec-pool.js';
import { FlistError } from './errors.js';
import { flistOps, type FsEvents } from './fuse-fs.js';
import { FlistReader } from './reader.js';
import { openRouter, parseRoute } from './stores/open-store.js';
import type { Router } from './stores/router.js';

const run = promisify(execFile);

export interface OpenOptions {
  /** Store URLs to read from instead of the flist's own routes (e.g. with the password rfs strips). */
  stores?: string[];
  /** Disk cache directory (rfs layout); none keeps blocks only in memory. */
  cacheDir?: string;
}

export interface OpenedFlist {
  reader: FlistReader;
  router: Router;
  cache: BlockCache;
  close(): Promise<void>;
}

/** An flist with its stores and block cache, for ls/cat/unpack and mounts. */
export async function openFlist(file: string, o: OpenOptions = {}): Promise<OpenedFlist> {
  const reader = new FlistReader(file);
  const routes = o.stores?.length ? o.stores.map(parseRoute) : reader.routes();
  const router = openRouter(routes);
  const codec = new CodecPool();
  const cache = new BlockCache(router, codec, o.cacheDir);
  return {
    reader,
    router,
    cache,
    async close() {
      await Promise.all([router.close(), codec.close()]);
      reader.close();
    },
  };
}

export interface Mounted {
  mountpoint: string;
  unmount(): Promise<void>;
}

/**
 * Mounts an flist read-only with FUSE in this process. The process must not touch the mount
 * with synchronous calls: FUSE requests are answered on this thread's event loop.
 */
export async function mountFlist(flist: OpenedFlist, mountpoint: string, events: FsEvents = {}): Promise<Mounted> {
  const mp = path.resolve(mountpoint);
  await fs.mkdir(mp, { recursive: true });
  const root = process.getuid?.() === 0;
  // Read-only: the kernel may keep pages and attributes across opens.
  const fuse = new Fuse(mp, flistOps(flist.reader, flist.cache, events), {
    force: true,
    allowOther: root,
    kernelCache: true,
    entryTimeout: 60,
    attrTimeout: 60,
    fsname: 'qstor-flist',
    timeout: 60_000,
  });
  await new Promise<void>((resolve, reject) =>
    fuse.mount((err) =>
      err ? reject(new FlistError('MOUNT', `mount ${mp}: ${err.message}`, { cause: err })) : resolve(),
    ),
  );
  let done: Promise<void> | undefined;
  return {
    mountpoint: mp,
    unmount() {
      done ??= (async () => {
        // fuse-native's unmount never calls back once the mount is gone: bounded wait.
        if (await isMounted(mp))
          await new Promise<void>((resolve) => {
            setTimeout(resolve, 5000).unref();
            fuse.unmount(() => resolve());
          });
        // A busy mount refuses a plain unmount: detach it lazily rather than leave it behind.
        if (await isMounted(mp)) await run('umount', ['-l', mp]).catch(() => undefined);
      })();
      return done;
    },
  };
}

/** Whether something is mounted exactly at `mp` (from /proc/self/mounts). */
export async function isMounted(mp: string): Promise<boolean> {
  const mounts = await fs.readFile('/proc/self/mounts', 'utf8');
  // Spaces and other odd bytes in mount points are octal-escaped there.
  const escaped = path.resolve(mp).replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return mounts.split('\n').some((line) => line.split(' ')[1] === escaped);
}

/** `qstor flist umount`: works for our mounts whoever started them. */
export async function unmountPath(mp: string): Promise<void> {
  try {
    await run('fusermount', ['-u', mp]);
  } catch {
    try {
      await run('umount', [mp]);
    } catch (err) {
      throw new FlistError('MOUNT', `umount ${mp}: ${(err as Error).message}`, { cause: err });
    }
  }
}
