// The flist block format and routes with no process: the hash, corrupt blocks, replication
// over routes into directory stores. (test/flist-format.test.ts: Python's known answer, .fl files.)
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock } from '../../src/flist/block-codec.js';
import { FlistError } from '../../src/flist/errors.js';
import { blake2b256, loadHasher } from '../../src/flist/hash.js';
import { DirStore } from '../../src/flist/stores/dir-store.js';
import { parseRoute } from '../../src/flist/stores/open-store.js';
import { redact } from '../../src/flist/stores/store.js';
import { Router } from '../../src/flist/stores/router.js';

let tmp: string;
beforeAll(async () => {
  await loadHasher();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'flist-format-unit-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('block format', () => {
  it('is BLAKE2b with a 32-byte digest, not truncated blake2b-512', () => {
    expect(blake2b256(Buffer.from('abc')).toString('hex')).toBe(
      'bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319',
    );
  });

  it('rejects bytes that do not match the id, and a wrong key', () => {
    const b = encodeBlock(Buffer.from('some data that will be checked'));
    const bad = Buffer.from(b.data);
    bad[0]! ^= 1;
    expect(() => decodeBlock(b, bad)).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
    const wrongKey = { id: b.id, key: Buffer.alloc(32, 7) };
    expect(() => decodeBlock(wrongKey, b.data)).toThrow(FlistError);
  });
});

describe('routes', () => {
  it('replicates over overlapping routes, skips blocks already stored, and reads past a missing copy', async () => {
    const a = new DirStore('dir://a', path.join(tmp, 'ra'));
    const b = new DirStore('dir://b', path.join(tmp, 'rb'));
    const router = new Router([
      { start: 0x00, end: 0xff, store: a },
      { start: 0x00, end: 0xff, store: b },
    ]);
    const blk = encodeBlock(Buffer.from('replicated'));
    expect(await router.set(blk.id, blk.data)).toEqual({ written: 2, present: 0 });
    expect(await router.set(blk.id, blk.data)).toEqual({ written: 0, present: 2 });
    await fs.rm(path.join(tmp, 'ra'), { recursive: true });
    expect(await router.get(blk.id, (d) => decodeBlock(blk, d))).toEqual(Buffer.from('replicated'));
    const split = new Router([{ start: 0x00, end: 0x7f, store: a }]);
    const ids = [Buffer.alloc(32, 0x80), Buffer.alloc(32, 0x10)];
    await expect(split.set(ids[0]!, Buffer.from('x'))).rejects.toMatchObject({ code: 'NOT_ROUTABLE' });
    await expect(split.get(ids[1]!, (d) => d)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('parses ranges as rfs does and strips passwords', () => {
    expect(parseRoute('00-7f=zdb://h:1/ns')).toEqual({ start: 0, end: 0x7f, url: 'zdb://h:1/ns' });
    expect(parseRoute('dir:///x')).toEqual({ start: 0, end: 0xff, url: 'dir:///x' });
    expect(redact('s3://key:secret@127.0.0.1:9000/bucket')).toBe('s3://key@127.0.0.1:9000/bucket');
  });
});
