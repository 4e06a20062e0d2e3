/**
 * The Namespace API the zdb commands use (as 0-db's libzdb/api.h is for zdbd), through the
 * engine in this process: no server, a real engine on temporary directories.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../zdb/engine/engine.js';
import { EngineError } from '../zdb/engine/errors.js';
import { IndexMode } from '../zdb/engine/format.js';

const b = (s: string): Buffer => Buffer.from(s);

describe('zdb engine: the Namespace API', () => {
  const roots: string[] = [];
  const engines: Engine[] = [];
  afterEach(() => {
    for (const e of engines.splice(0)) e.close();
    for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true });
  });

  function open(): Engine {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'zdb-api-'));
    roots.push(root);
    const engine = new Engine({
      dataDir: path.join(root, 'd'),
      indexDir: path.join(root, 'i'),
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

  function codeOf(f: () => unknown): string | undefined {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(EngineError);
      return (e as EngineError).code;
    }
    return undefined;
  }

  it('set takes a value in pieces: stored whole, CRC of the whole, unchanged only when byte-identical', () => {
    const ns = open().get('default')!;
    const value = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff));
    const split = (at: number[]): Buffer[] => [0, ...at].map((from, i) => value.subarray(from, at[i] ?? value.length));
    expect(ns.set(b('k'), split([1, 70_000, 200_000]))).toEqual({ stored: true, key: b('k') });
    expect(ns.get(b('k'))!.equals(value)).toBe(true);
    expect(ns.check(b('k'))).toBe(true);
    // The same bytes cut elsewhere are the same value; one byte changed is not.
    expect(ns.set(b('k'), split([65_536, 131_072]))).toEqual({ stored: false });
    const changed = Buffer.from(value);
    changed[150_000] ^= 1;
    expect(ns.set(b('k'), [changed.subarray(0, 100), changed.subarray(100)])).toEqual({ stored: true, key: b('k') });
    expect(ns.get(b('k'))!.equals(changed)).toBe(true);
    expect(ns.length(b('k'))).toBe(value.length);
  });

  it('exists, length, keytime: values of the current version, null when missing', () => {
    const ns = open().get('default')!;
    expect(ns.used).toBe(false);
    ns.set(b('k'), b('12345'), 1_700_000_000);
    expect(ns.used).toBe(true);
    expect(ns.exists(b('k'))).toBe(true);
    expect(ns.length(b('k'))).toBe(5);
    expect(ns.keytime(b('k'))).toBe(1_700_000_000);
    expect([ns.exists(b('x')), ns.length(b('x')), ns.keytime(b('x'))]).toEqual([false, null, null]);
  });

  it('history walks the versions back to the oldest, then refuses with NO_MORE_DATA', () => {
    const ns = open().get('default')!;
    ns.set(b('k'), b('one'), 10);
    ns.set(b('k'), b('two'), 20);
    ns.set(b('k'), b('three'), 30);
    const seen: string[] = [];
    let v = ns.history(b('k'));
    for (;;) {
      seen.push(`${v.value.toString()}@${v.timestamp}`);
      if (!v.previous) break;
      v = ns.history(b('k'), v.previous);
    }
    expect(seen).toEqual(['three@30', 'two@20', 'one@10']);
    expect(codeOf(() => ns.history(b('k'), Buffer.alloc(8)))).toBe('NO_MORE_DATA');
    expect(codeOf(() => ns.history(b('missing')))).toBe('NOT_FOUND');
    expect(codeOf(() => ns.history(b('k'), Buffer.alloc(3)))).toBe('INVALID_CURSOR');
  });

  it('scan forward and backward in batches; keyCursor resumes after a key', () => {
    const ns = open().get('default')!;
    for (const k of ['a', 'b', 'c', 'd']) ns.set(b(k), b(`v-${k}`));
    ns.del(b('b'));
    const walk = (direction: 'forward' | 'backward', from: Buffer | null): string[] => {
      const keys: string[] = [];
      let cursor = from;
      for (;;) {
        let batch;
        try {
          batch = ns.scan(direction, cursor, 2);
        } catch (e) {
          expect((e as EngineError).code).toBe('NO_MORE_DATA');
          return keys;
        }
        keys.push(...batch.entries.map((e) => e.key.toString()));
        cursor = batch.cursor;
      }
    };
    expect(walk('forward', null)).toEqual(['a', 'c', 'd']);
    expect(walk('backward', null)).toEqual(['d', 'c', 'a']);
    expect(walk('forward', ns.keyCursor(b('a')))).toEqual(['c', 'd']);
    expect(ns.keyCursor(b('b'))).toBeNull();
    expect(codeOf(() => ns.scan('forward', Buffer.alloc(17, 0xff), 2))).toBe('INVALID_CURSOR');
  });

  it('info reports what NSINFO needs, without reaching into files', () => {
    const engine = open();
    const ns = engine.create('seqspace');
    engine.reset(ns, IndexMode.Seq);
    const seq = engine.get('seqspace')!;
    seq.set(b(''), b('first'));
    seq.set(b(''), b('second'));
    const info = seq.info();
    expect(info).toMatchObject({
      name: 'seqspace',
      mode: IndexMode.Seq,
      entries: 2,
      nextId: 2,
      dataBytes: 11,
      headId: 0,
    });
    expect(info.dataActive).toBe(path.join(info.dataDir, 'd0'));
    expect(info.indexActive).toBe(path.join(info.indexDir, 'i0'));
    seq.jump();
    expect(seq.info().headId).toBe(1);
  });

  it('frozen and locked namespaces refuse through the API with typed errors', () => {
    const ns = open().get('default')!;
    ns.set(b('k'), b('v'));
    ns.settings.locked = true;
    expect(codeOf(() => ns.set(b('k'), b('w')))).toBe('READ_ONLY');
    expect(ns.get(b('k'))?.toString()).toBe('v');
    ns.settings.locked = false;
    ns.settings.frozen = true;
    expect(codeOf(() => ns.get(b('k')))).toBe('FROZEN');
    expect(codeOf(() => ns.length(b('k')))).toBe('FROZEN');
    expect(codeOf(() => ns.history(b('k')))).toBe('FROZEN');
  });
});
