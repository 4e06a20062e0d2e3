// The memory backend injects what it is told, where it is told, the same way for the same seed;
// and the backend pool reads its faults as it reads a zdb's.
import { describe, expect, it } from 'vitest';
import { BackendPool } from '../../src/store/backend-pool.js';
import { MemoryBackend, MemoryBackends, memoryBackendList, type Fault } from '../../src/testing/memory-backend.js';
import { ZdbError } from '../../src/zdb-client/index.js';

/** The code each call fails with, or 'ok'. */
async function outcomes(calls: Array<() => Promise<unknown>>): Promise<string[]> {
  const out: string[] = [];
  for (const call of calls)
    out.push(
      await call().then(
        () => 'ok',
        (e: ZdbError) => e.code,
      ),
    );
  return out;
}

describe('MemoryBackend', () => {
  it('stores, reads, checks, deletes and scans like a zdb namespace', async () => {
    const b = new MemoryBackend();
    await b.set('a', Buffer.from('one'));
    await b.set(Buffer.from('b'), Buffer.from('two'));
    expect((await b.get('a'))!.toString()).toBe('one');
    expect((await b.mget([Buffer.from('a'), 'b', 'c'])).map((v) => v?.toString() ?? null)).toEqual([
      'one',
      'two',
      null,
    ]);
    expect([await b.check('a'), await b.check('c')]).toEqual([true, null]);
    expect([await b.del('a'), await b.del('a')]).toEqual([true, false]);
    const keys: string[] = [];
    for await (const e of b.scanAll()) keys.push(e.key.toString());
    expect(keys).toEqual(['b']);
    expect(await b.nsinfo()).toMatchObject({ entries: 1, dataSizeBytes: 3 });
  });

  it('fails every nth call of the operations named, and no other', async () => {
    const b = new MemoryBackend({ faults: [{ kind: 'error', ops: ['get'], every: 3 }] });
    await b.set('k', Buffer.from('v'));
    const calls = Array.from({ length: 7 }, (_, i) =>
      i === 3 ? () => b.set('k', Buffer.from('v')) : () => b.get('k'),
    );
    expect(await outcomes(calls)).toEqual(['ok', 'ok', 'CONNECTION', 'ok', 'ok', 'ok', 'CONNECTION']);
    expect(b.injected.error).toBe(2);
  });

  it('draws probabilities, latencies and flipped bytes from its seed: the same seed, the same run', async () => {
    const run = async (seed: number): Promise<string[]> => {
      const faults: Fault[] = [
        { kind: 'error', probability: 0.3 },
        { kind: 'corrupt', probability: 0.3, ops: ['get'] },
      ];
      const b = new MemoryBackend({ seed, faults: [] });
      await b.set('k', Buffer.alloc(64, 7));
      b.configure({ faults, latency: { minMs: 0, maxMs: 2 } });
      const out: string[] = [];
      for (let i = 0; i < 40; i++)
        out.push(
          await b.get('k').then(
            (v) => v!.toString('hex'),
            (e: ZdbError) => e.code,
          ),
        );
      return out;
    };
    const first = await run(42);
    expect(await run(42)).toEqual(first);
    expect(await run(43)).not.toEqual(first);
    expect(first).toContain('CONNECTION');
    expect(new Set(first).size).toBeGreaterThan(3); // intact, refused, and several different flipped bytes
  });

  it('waits its latency, and answers a call it never serves with TIMEOUT after the request timeout', async () => {
    const b = new MemoryBackend({ requestTimeoutMs: 150, latency: { minMs: 60, ops: ['get'] } });
    await b.set('k', Buffer.from('v'));
    let t0 = performance.now();
    await b.get('k');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
    b.configure({ faults: [{ kind: 'timeout', ops: ['set'] }] });
    t0 = performance.now();
    await expect(b.set('k', Buffer.from('w'))).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
    expect((await b.get('k'))!.toString()).toBe('v'); // the timed-out SET never happened
    b.configure({ latency: { minMs: 500 } }); // slower than the timeout: a timeout too
    await expect(b.get('k')).rejects.toBeInstanceOf(ZdbError);
  });

  it('returns wrong bytes on reads, rots values on writes (CHECK sees it), and destroy fails waiting calls', async () => {
    const b = new MemoryBackend({ faults: [{ kind: 'corrupt', ops: ['get'] }] });
    const value = Buffer.alloc(32, 1);
    await b.set('k', value);
    expect((await b.get('k'))!.equals(value)).toBe(false);
    expect(await b.check('k')).toBe(true); // the stored value is intact
    b.configure({ faults: [{ kind: 'corrupt', ops: ['set'] }] });
    await b.set('r', value);
    expect(await b.check('r')).toBe(false);
    b.configure({ faults: [], latency: { minMs: 5000 } });
    const waiting = b.get('k');
    b.destroy();
    await expect(waiting).rejects.toMatchObject({ code: 'CONNECTION' });
  });
});

describe('BackendPool over memory backends', () => {
  it('marks a backend down after consecutive timeouts and up at its next answer; wrong answers are not outages', async () => {
    const memory = new MemoryBackends();
    const pool = new BackendPool(memoryBackendList(2), {
      requestTimeoutMs: 50,
      downAfterFailures: 2,
      connect: memory.connect,
    });
    const b0 = memory.get('b0');
    b0.configure({ faults: [{ kind: 'timeout', ops: ['get'] }] });
    const get = () => pool.run('b0', (c) => c.get('k')).catch(() => null);
    await get();
    expect(pool.get('b0')!.state).toBe('up');
    await get();
    expect(pool.get('b0')!.state).toBe('down');
    expect(pool.lastError('b0')).toMatch(/no answer to get/);
    b0.configure({ faults: [{ kind: 'corrupt', ops: ['get'] }] });
    await b0.set('k', Buffer.from('v'));
    await get();
    expect(pool.get('b0')!.state).toBe('up');
    expect(pool.get('b1')!.state).toBe('up');
    await pool.close();
  });
});
