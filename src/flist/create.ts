import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FlistBuilder, type BuilderOptions, type BuildStats } from './builder.js';
import { CodecPool } from './codec-pool.js';
import { unpackImage } from './image.js';
import { addLayers } from './layers.js';
import { startupToml } from './startup.js';
import { openRouter, parseRoute } from './stores/open-store.js';
import { addDirectory } from './walk-dir.js';
import { FlistWriter } from './writer.js';

export interface CreateOptions extends BuilderOptions {
  /** A directory, or a `docker save` / OCI image layout tarball. */
  from: string;
  /** Store URLs, each optionally prefixed by an id range (`00-7f=zdb://...`). */
  stores: string[];
  out: string;
  tags?: Record<string, string>;
}

/** Builds an flist and uploads its blocks; on any failure nothing is left at `out`. */
export async function createFlist(o: CreateOptions): Promise<BuildStats> {
  const router = openRouter(o.stores.map(parseRoute));
  const codec = new CodecPool();
  const writer = new FlistWriter(o.out);
  const builder = new FlistBuilder(writer, router, codec, o);
  try {
    for (const [k, v] of Object.entries(o.tags ?? {})) builder.tag(k, v);
    if ((await fs.stat(o.from)).isDirectory()) await addDirectory(builder, o.from);
    else await addImage(builder, o.from);
    return await builder.finish();
  } catch (err) {
    await builder.abort();
    throw err;
  } finally {
    await Promise.all([router.close(), codec.close()]);
  }
}

async function addImage(builder: FlistBuilder, tarFile: string): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qstor-image-'));
  try {
    const image = await unpackImage(tarFile, dir);
    const now = Math.floor(Date.now() / 1000);
    await addLayers(builder, image.layers, now, [
      { path: '.startup.toml', content: Buffer.from(startupToml(image.config)) },
    ]);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
