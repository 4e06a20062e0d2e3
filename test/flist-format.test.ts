// The .fl file and block format, pinned: rfs's schema, a known-answer block computed
// independently by Python (hashlib.blake2b(digest_size=32), cryptography's AESGCM).
// (test/unit/flist-format.test.ts: the hash, corrupt blocks and routes, with no process.)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock } from '../src/flist/block-codec.js';
import { loadHasher } from '../src/flist/hash.js';
import { qstor } from './helpers/flist-tree.js';

let tmp: string;
beforeAll(async () => {
  await loadHasher();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'flist-format-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

// 64 distinct bytes: snappy finds no match, so its raw output is one literal, easy to build by hand.
const PLAIN = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff));
const PYTHON = `
import hashlib, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
plain = bytes.fromhex(sys.argv[1])
key = hashlib.blake2b(plain, digest_size=32).digest()
compressed = bytes([len(plain)]) + bytes([60 << 2, len(plain) - 1]) + plain  # raw snappy: varint length, one literal
data = AESGCM(key).encrypt(key[:12], compressed, None)  # ciphertext || 16-byte tag
print(key.hex(), hashlib.blake2b(data, digest_size=32).hexdigest(), data.hex())
`;

describe('block format', () => {
  it('matches an independent computation: key = blake2b-256(plain), raw snappy, AES-256-GCM (nonce = key[:12]), id = blake2b-256(ciphertext)', () => {
    const [key, id, data] = execFileSync('python3', ['-c', PYTHON, PLAIN.toString('hex')])
      .toString()
      .trim()
      .split(' ');
    const b = encodeBlock(PLAIN);
    expect(b.key.toString('hex')).toBe(key);
    expect(b.id.toString('hex')).toBe(id);
    expect(b.data.toString('hex')).toBe(data);
    expect(decodeBlock(b, b.data)).toEqual(PLAIN);
  });
});

describe('.fl file', () => {
  it("is rfs's sqlite schema: root inode 1 (parent 0, empty name), 32-byte blob ids and keys, tags, routes", async () => {
    const src = path.join(tmp, 'src');
    await fs.mkdir(path.join(src, 'd'), { recursive: true });
    await fs.writeFile(path.join(src, 'd', 'f'), Buffer.alloc(600 * 1024, 1));
    await fs.symlink('d/f', path.join(src, 'l'));
    const fl = path.join(tmp, 'x.fl');
    await qstor([
      'flist',
      'create',
      '--from',
      src,
      '--store',
      `00-7f=dir://${tmp}/s1`,
      '--store',
      `80-ff=dir://${tmp}/s2`,
      '--tag',
      'author=me',
      '-o',
      fl,
    ]);
    const db = new Database(fl, { readonly: true });
    try {
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .pluck()
        .all();
      expect(tables).toEqual(['block', 'extra', 'inode', 'route', 'tag']);
      const cols = (t: string) =>
        db
          .prepare(`PRAGMA table_info(${t})`)
          .all()
          .map((c) => `${(c as { name: string }).name}:${(c as { type: string }).type}`);
      expect(cols('inode')).toEqual([
        'ino:INTEGER',
        'parent:INTEGER',
        'name:VARCHAR(255)',
        'size:INTEGER',
        'uid:INTEGER',
        'gid:INTEGER',
        'mode:INTEGER',
        'rdev:INTEGER',
        'ctime:INTEGER',
        'mtime:INTEGER',
      ]);
      expect(cols('block')).toEqual(['ino:INTEGER', 'id:VARCHAR(32)', 'key:VARCHAR(32)']);
      expect(db.prepare('SELECT ino, parent, name FROM inode WHERE ino = 1').get()).toEqual({
        ino: 1,
        parent: 0,
        name: '',
      });
      const blocks = db.prepare('SELECT typeof(id) AS t, length(id) AS n, length(key) AS k FROM block').all();
      expect(blocks).toEqual([
        { t: 'blob', n: 32, k: 32 },
        { t: 'blob', n: 32, k: 32 },
      ]);
      expect(db.prepare('SELECT typeof(data) AS t, CAST(data AS TEXT) AS d FROM extra').get()).toEqual({
        t: 'blob',
        d: 'd/f',
      });
      expect(db.prepare('SELECT start, end, url FROM route ORDER BY start').all()).toEqual([
        { start: 0, end: 127, url: `dir://${tmp}/s1` },
        { start: 128, end: 255, url: `dir://${tmp}/s2` },
      ]);
      expect(db.prepare('SELECT value FROM tag WHERE key = ?').pluck().get('author')).toBe('me');
    } finally {
      db.close();
    }
  });
});
