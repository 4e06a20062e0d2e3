import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FlistError } from './errors.js';
import { cleanPath, tarEntries } from './tar-entries.js';

/** What an image config says about starting a container (the OCI config's `config` object). */
export interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
}

export interface UnpackedImage {
  /** Layer tar files (maybe gzip), lowest first. */
  layers: string[];
  config: ImageConfig;
}

/**
 * Unpacks a `docker save` tarball (manifest.json) or an OCI image layout tarball (index.json,
 * oci-layout, blobs/sha256/...) into `dir` and names its layers in order. The outer tar is
 * streamed to files; layers stay compressed as they came.
 */
export async function unpackImage(tarFile: string, dir: string): Promise<UnpackedImage> {
  for await (const entry of tarEntries(tarFile)) {
    const rel = cleanPath(entry.header.name);
    if (entry.header.type !== 'file' || rel === '') {
      entry.resume();
      continue;
    }
    const out = path.join(dir, rel);
    await fsp.mkdir(path.dirname(out), { recursive: true });
    await pipeline(Readable.from(entry), fs.createWriteStream(out));
  }
  const has = (name: string) => fs.existsSync(path.join(dir, name));
  if (has('manifest.json')) return fromDockerSave(dir);
  if (has('index.json') && has('oci-layout')) return fromOciLayout(dir);
  throw new FlistError(
    'BAD_FORMAT',
    `${tarFile}: neither a docker save tarball (manifest.json) nor an OCI image layout (index.json, oci-layout)`,
  );
}

async function json<T>(file: string): Promise<T> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch (err) {
    throw new FlistError('BAD_FORMAT', `${path.basename(file)}: ${(err as Error).message}`, { cause: err });
  }
}

function inside(dir: string, rel: string): string {
  const clean = cleanPath(rel);
  if (!clean) throw new FlistError('BAD_FORMAT', `bad path in image: ${rel}`);
  return path.join(dir, clean);
}

async function fromDockerSave(dir: string): Promise<UnpackedImage> {
  const manifest = await json<Array<{ Config: string; Layers: string[] }>>(path.join(dir, 'manifest.json'));
  const first = manifest[0];
  if (!first || !Array.isArray(first.Layers)) throw new FlistError('BAD_FORMAT', 'manifest.json names no image');
  const config = await json<{ config?: ImageConfig }>(inside(dir, first.Config));
  return { layers: first.Layers.map((l) => inside(dir, l)), config: config.config ?? {} };
}

interface Descriptor {
  mediaType?: string;
  digest: string;
}

function blob(dir: string, d: Descriptor): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(d.digest);
  if (!m) throw new FlistError('BAD_FORMAT', `unsupported digest ${d.digest}`);
  return path.join(dir, 'blobs', 'sha256', m[1]!);
}

async function fromOciLayout(dir: string): Promise<UnpackedImage> {
  let doc = await json<{ mediaType?: string; manifests?: Descriptor[]; layers?: Descriptor[]; config?: Descriptor }>(
    path.join(dir, 'index.json'),
  );
  // An index points at manifests (or at further indexes, as multi-platform images do): take the first.
  for (let depth = 0; doc.manifests && depth < 4; depth++) {
    const next = doc.manifests[0];
    if (!next) throw new FlistError('BAD_FORMAT', 'index.json lists no manifest');
    doc = await json(blob(dir, next));
  }
  if (!doc.layers || !doc.config) throw new FlistError('BAD_FORMAT', 'OCI manifest without layers or config');
  const config = await json<{ config?: ImageConfig }>(blob(dir, doc.config));
  return { layers: doc.layers.map((l) => blob(dir, l)), config: config.config ?? {} };
}
