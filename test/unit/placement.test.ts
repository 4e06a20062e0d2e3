import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/placement/backend.js';
import { BackendConfigError, parseBackendConfig } from '../../src/placement/config.js';
import { placeShards, PlacementError } from '../../src/placement/placement.js';

function cluster(farms: number, nodes: number, disks: number, free = 1e12): Backend[] {
  const out: Backend[] = [];
  for (let f = 0; f < farms; f++)
    for (let n = 0; n < nodes; n++)
      for (let d = 0; d < disks; d++)
        out.push({
          id: `f${f}n${n}d${d}`,
          farm: `f${f}`,
          node: `n${n}`,
          host: '127.0.0.1',
          port: 9900,
          namespace: 'x',
          freeBytes: free,
          state: 'up',
        });
  return out;
}

/** A deterministic random source (mulberry32) so every run places the same way. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('placement', () => {
  it('spreads 4+2 shards over 3 farms x 2 nodes with no node twice', () => {
    const random = seeded(1);
    for (let i = 0; i < 200; i++) {
      const { backends, sharedNode } = placeShards(cluster(3, 2, 2), 6, new Set(), random);
      expect(new Set(backends.map((b) => b.id)).size).toBe(6);
      expect(new Set(backends.map((b) => `${b.farm}/${b.node}`)).size).toBe(6);
      const perFarm = new Map<string, number>();
      for (const b of backends) perFarm.set(b.farm, (perFarm.get(b.farm) ?? 0) + 1);
      expect([...perFarm.values()]).toEqual([2, 2, 2]);
      expect(sharedNode).toBe(false);
    }
  });

  it('shares a node only when there are fewer nodes than shards, and says so', () => {
    const { backends, sharedNode } = placeShards(cluster(1, 1, 6), 6, new Set(), seeded(2));
    expect(backends).toHaveLength(6);
    expect(sharedNode).toBe(true);
  });

  it('skips down and excluded backends, and fails clearly when too few remain', () => {
    const all = cluster(2, 2, 2);
    all[0]!.state = 'down';
    const { backends } = placeShards(all, 6, new Set([all[1]!.id]), seeded(3));
    expect(backends.map((b) => b.id)).not.toContain(all[0]!.id);
    expect(backends.map((b) => b.id)).not.toContain(all[1]!.id);
    expect(() => placeShards(all, 7, new Set([all[1]!.id]))).toThrow(PlacementError);
  });

  it('weights by free space among equally spread choices', () => {
    const all = cluster(1, 2, 1);
    all[0]!.freeBytes = 9e12;
    all[1]!.freeBytes = 1e12;
    const random = seeded(4);
    let first = 0;
    for (let i = 0; i < 2000; i++) if (placeShards(all, 1, new Set(), random).backends[0]!.id === all[0]!.id) first++;
    expect(first).toBeGreaterThan(1600);
    expect(first).toBeLessThan(1990);
  });

  it('validates the backends file and names the bad field', () => {
    const good = {
      backends: [{ id: 'a', farm: 'f', node: 'n', address: '127.0.0.1:9900', namespace: 'ns', password: 'p' }],
    };
    expect(parseBackendConfig(good)[0]).toMatchObject({ host: '127.0.0.1', port: 9900, password: 'p' });
    expect(() => parseBackendConfig({ backends: [{ ...good.backends[0], address: 'nohost' }] })).toThrow(
      /backends\[0\]\.address/,
    );
    expect(() => parseBackendConfig({ backends: [{ ...good.backends[0], farm: 3 }] })).toThrow(BackendConfigError);
    expect(() => parseBackendConfig({ backends: [good.backends[0], good.backends[0]] })).toThrow(
      /backends\[1\]\.id: "a" is used twice/,
    );
    expect(() => parseBackendConfig({})).toThrow(/non-empty array/);
  });
});
