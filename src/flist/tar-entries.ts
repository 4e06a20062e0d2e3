import fs from 'node:fs';
import zlib from 'node:zlib';
import tar, { type Header } from 'tar-stream';
import { FlistError } from './errors.js';

/** One member of a tar: its header and its body as a stream (tar-stream's streamx Readable). */
export interface TarEntry extends AsyncIterable<Uint8Array> {
  header: Header;
  resume(): unknown;
}

/** The entries of a tar file, gunzipped first when it starts with gzip's magic. Bodies are streamed: consume or resume each. */
export async function* tarEntries(file: string): AsyncGenerator<TarEntry> {
  const magic = Buffer.alloc(4);
  const fd = await fs.promises.open(file, 'r');
  try {
    await fd.read(magic, 0, 4, 0);
  } finally {
    await fd.close();
  }
  if (magic.readUInt32BE(0) === 0x28b52ffd)
    throw new FlistError('BAD_FORMAT', `${file}: zstd layers are not supported`);
  const extract = tar.extract();
  const gzip = magic[0] === 0x1f && magic[1] === 0x8b;
  // tar-stream's streams are streamx ones: piped by hand, errors forwarded into the extractor.
  const input = fs.createReadStream(file);
  const fail = (err: Error) => extract.destroy(err);
  input.on('error', fail);
  if (gzip) input.pipe(zlib.createGunzip().on('error', fail)).pipe(extract);
  else input.pipe(extract);
  try {
    // Entry bodies are Buffers; streamx types them as unknown.
    for await (const entry of extract) yield entry as unknown as TarEntry;
  } catch (err) {
    throw new FlistError('BAD_FORMAT', `${file}: not a readable tar (${(err as Error).message})`, { cause: err });
  } finally {
    input.destroy();
  }
}

/** A tar member name as a clean relative path ('' for the root), never escaping the tree. */
export function cleanPath(name: string): string {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}
