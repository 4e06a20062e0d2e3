/** Image tarballs built in the test: layers as tar (optionally gzip), wrapped as `docker save` or an OCI layout. */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';

export interface LayerEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  content?: string;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

const MTIME = new Date(1_700_000_000_000);

async function packTar(
  entries: Array<{ header: tar.Header | (Partial<tar.Header> & { name: string }); body?: Buffer }>,
): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries)
    await new Promise<void>((resolve, reject) =>
      pack.entry(e.header, e.body ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())),
    );
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export function layerTar(entries: LayerEntry[]): Promise<Buffer> {
  return packTar(
    entries.map((e) => ({
      header: {
        name: e.name,
        type: e.type ?? 'file',
        linkname: e.linkname,
        mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        mtime: MTIME,
      },
      body: e.type === undefined || e.type === 'file' ? Buffer.from(e.content ?? '') : undefined,
    })),
  );
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const file = (name: string, body: Buffer) => ({
  header: { name, type: 'file' as const, size: body.length, mode: 0o644, mtime: MTIME },
  body,
});

export interface ImageConfigJson {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
}

export async function dockerSaveTar(out: string, layers: Buffer[], config: ImageConfigJson): Promise<void> {
  const cfg = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config,
      rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${sha(l)}`) },
    }),
  );
  const cfgName = `${sha(cfg)}.json`;
  const names = layers.map((_, i) => `layer${i}/layer.tar`);
  const manifest = Buffer.from(JSON.stringify([{ Config: cfgName, RepoTags: ['test:latest'], Layers: names }]));
  await fs.writeFile(
    out,
    await packTar([file(cfgName, cfg), ...layers.map((l, i) => file(names[i]!, l)), file('manifest.json', manifest)]),
  );
}

export async function ociLayoutTar(out: string, layers: Buffer[], config: ImageConfigJson): Promise<void> {
  const gz = layers.map((l) => zlib.gzipSync(l));
  const cfg = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config,
      rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${sha(l)}`) },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(cfg)}`, size: cfg.length },
      layers: gz.map((g) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: `sha256:${sha(g)}`,
        size: g.length,
      })),
    }),
  );
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${sha(manifest)}`,
          size: manifest.length,
        },
      ],
    }),
  );
  const blobs = [cfg, manifest, ...gz].map((b) => file(`blobs/sha256/${sha(b)}`, b));
  await fs.writeFile(
    out,
    await packTar([
      file('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')),
      file('index.json', index),
      ...blobs,
    ]),
  );
}
