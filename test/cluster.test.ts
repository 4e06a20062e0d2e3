import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../gateway/server.js';
import { createRegistryServer, identityFromSeed, Signer, type RegistryServer } from '../src/agent/index.js';
import { Discovery } from '../src/cluster/discovery.js';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { PipelinePool } from '../src/pipeline/pool.js';
import { Scrubber } from '../src/repair/scrubber.js';
import { BackendPool } from '../src/store/backend-pool.js';
import { Deleter } from '../src/store/deleter.js';
import type { ObjectManifest } from '../src/meta/manifest.js';
import { ObjectStore } from '../src/store/object-store.js';
import { startAgent, until, type AgentProcess } from './helpers/agent-harness.js';
import { content } from './helpers/store-harness.js';
import { canMakeTestHosts, makeTestHost, type TestHost } from './helpers/netns.js';
import { freePort } from './helpers/zdb-process.js';

/**
 * How a node fails: its agent and zdbs killed (nodes on loopback), or its link cut while it
 * runs on (each node in a network namespace of its own: root only).
 */
type Failure = 'killed' | 'link cut';

/**
 * The store over a grid it discovers: 3 farms of 2 nodes, 2 disks each, every node a real
 * agent process with its own zdbs; the registry and the store (with its S3 gateway) in this
 * process, as the gateway daemon runs them.
 */
function clusterSuite(failure: Failure): void {
  const hosts: TestHost[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-cluster-'));
  const ROOT = { accessKeyId: 'CLUSTERROOTACCESS001', secretAccessKey: crypto.randomBytes(20).toString('hex') };
  const masterKey = crypto.randomBytes(32);
  let registry: RegistryServer;
  let agents: AgentProcess[] = [];
  let meta: SqliteMetaStore;
  let pool: BackendPool;
  let pipeline: PipelinePool;
  let store: ObjectStore;
  let discovery: Discovery;
  let gateway: Gateway;
  let s3: S3Client;
  const written = new Map<string, Buffer>();

  const manifestOf = async (key: string): Promise<ObjectManifest> => (await meta.getObject('data', key))!;
  const nodeOf = (backend: string): string => pool.get(backend)!.node;
  const farmOf = (backend: string): string => pool.get(backend)!.farm;
  const readAll = async (): Promise<void> => {
    for (const [key, data] of written) {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: key }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    }
  };

  beforeAll(async () => {
    const dbPath = path.join(dir, 'meta.db');
    registry = await createRegistryServer({
      dbPath,
      adminToken: crypto.randomBytes(24).toString('hex'),
      downAfterMs: 1500,
    });
    if (failure === 'link cut') for (let i = 0; i < 6; i++) hosts.push(makeTestHost(i));
    // Every node reaches this machine's side of node 0's link (the one link never cut).
    const registryHost = hosts[0]?.hostAddress ?? '127.0.0.1';
    const url = `http://${registryHost}:${await registry.listen(0, registryHost)}`;
    const farms: Array<{ farmId: number; farmerToken: string }> = [];
    for (const name of ['farm-a', 'farm-b', 'farm-c']) farms.push(await registry.registry.createFarm(name));
    agents = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        startAgent(path.join(dir, `node${i}`), {
          registry: url,
          farmToken: farms[i % 3]!.farmerToken,
          disks: 2,
          heartbeatSeconds: 0.3,
          netns: hosts[i] && { name: hosts[i].name, address: hosts[i].address },
        }),
      ),
    );
    await until(
      '12 zdbs up in the registry',
      async () => (await registry.registry.listBackends()).filter((b) => b.state === 'up').length === 12,
      30_000,
    );

    meta = new SqliteMetaStore(dbPath);
    pool = new BackendPool([], { requestTimeoutMs: 2000, downAfterFailures: 1 });
    pipeline = new PipelinePool({ threads: 2 });
    store = new ObjectStore({ meta, backends: pool, pipeline, masterKey, chunkSize: 256 * 1024, hedgeMs: 300 });
    const signer = new Signer(identityFromSeed(crypto.randomBytes(32)));
    discovery = new Discovery({
      registry: registry.registry,
      pool,
      meta,
      masterKey,
      signer,
      namespaceBytes: 1 << 30,
      log: () => {},
    });
    // Nodes serve only stores their farmer admitted: nothing is asked of them before.
    const allUp = () =>
      until(
        '12 zdbs up in the registry',
        async () => (await registry.registry.listBackends()).filter((b) => b.state === 'up').length === 12,
        30_000,
      );
    await allUp();
    // (A node that looks down for a moment on a busy machine is not counted.)
    const unadmitted = await discovery.sync();
    expect(unadmitted).toMatchObject({ reserved: 0, failed: 0 });
    expect(unadmitted.notAdmitted).toBeGreaterThan(0);
    expect(await meta.listBackends()).toEqual([]);
    for (const f of farms) await registry.registry.admitStore(f.farmId, { store: signer.id, rights: ['storage'] });
    await allUp();
    expect(await discovery.sync()).toEqual({ reserved: 12, down: 0, failed: 0, notAdmitted: 0 });
    await pool.refresh();
    gateway = createGateway({
      store,
      meta,
      masterKey,
      rootAccessKey: ROOT.accessKeyId,
      rootSecretKey: ROOT.secretAccessKey,
    });
    const port = await gateway.listen(await freePort());
    s3 = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: ROOT,
      maxAttempts: 1,
    });
    await store.createBucket('data');
  }, 120_000);

  afterAll(async () => {
    s3?.destroy();
    await gateway?.close();
    await Promise.all(agents.map((a) => a.stop()));
    await pool?.close();
    await pipeline?.close();
    await meta?.close();
    await registry?.close();
    for (const h of hosts) h.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reserves one private namespace per disk and spreads every chunk over 6 nodes, 2 per farm', async () => {
    expect(pool.list()).toHaveLength(12);
    for (const b of pool.list()) expect(b.password).toMatch(/.{16,}/);
    // The namespace passwords are kept sealed under the master key, never in the clear.
    for (const b of await meta.listBackends())
      expect(b.password!.includes(Buffer.from(pool.get(b.id)!.password!))).toBe(false);
    for (let i = 0; i < 6; i++) {
      const data = content(700 * 1024 + i * 1000, 50 + i);
      await s3.send(new PutObjectCommand({ Bucket: 'data', Key: `obj-${i}`, Body: data }));
      written.set(`obj-${i}`, data);
    }
    for (const key of written.keys()) {
      for (const chunk of (await manifestOf(key)).chunks) {
        expect(new Set(chunk.shards.map((s) => nodeOf(s.backend))).size).toBe(6);
        const perFarm = new Map<string, number>();
        for (const s of chunk.shards) perFarm.set(farmOf(s.backend), (perFarm.get(farmOf(s.backend)) ?? 0) + 1);
        expect([...perFarm.values()]).toEqual([2, 2, 2]);
      }
    }
  });

  it(`a node ${failure} is held down, reads stay byte-identical, and repair restores full redundancy`, async () => {
    const victim = agents[1]!;
    if (failure === 'link cut') {
      hosts[1]!.cut();
    } else {
      const victimPids = [0, 1].map((d) => victim.zdbPid(d));
      victim.child.kill('SIGKILL');
      for (const pid of victimPids) process.kill(pid, 'SIGKILL');
    }
    await until(
      'the node to be down in the registry',
      async () =>
        (await registry.registry.listBackends())
          .filter((b) => b.nodeId === victim.nodeId)
          .every((b) => b.state === 'down'),
      10_000,
    );
    expect((await discovery.sync()).down).toBe(2);
    const down = pool.list().filter((b) => b.node === victim.nodeId);
    expect(down.map((b) => b.state)).toEqual(['down', 'down']);
    await readAll();

    const pass = await new Scrubber({ meta, backends: pool, pipeline }, { graceMs: 0, chunksPerSecond: 0 }).pass();
    expect(pass.failed).toBe(0);
    expect(pass.repaired).toBeGreaterThan(0);
    for (const key of written.keys()) {
      for (const chunk of (await manifestOf(key)).chunks) {
        expect(chunk.shards.every((s) => pool.get(s.backend)!.node !== victim.nodeId)).toBe(true);
        expect(new Set(chunk.shards.map((s) => `${s.backend}/${s.key}`)).size).toBe(6);
      }
    }
    expect(
      await new Scrubber({ meta, backends: pool, pipeline }, { graceMs: 0, chunksPerSecond: 0 }).pass(),
    ).toMatchObject({ repaired: 0, belowRedundancy: 0, failed: 0 });
    await readAll();
  }, 60_000);

  it('the node comes back under the same backends: used again, its stale shards removed, nothing duplicated', async () => {
    const victim = agents[1]!;
    if (failure === 'link cut') hosts[1]!.heal();
    else agents[1] = await victim.restart();
    await until(
      'the node up again',
      async () =>
        (await registry.registry.listBackends())
          .filter((b) => b.nodeId === victim.nodeId)
          .every((b) => b.state === 'up'),
      15_000,
    );
    expect(await discovery.sync()).toMatchObject({ reserved: 0, down: 0 });
    await until('its backends up in the pool', async () => {
      await pool.refresh();
      return pool
        .list()
        .filter((b) => b.node === victim.nodeId)
        .every((b) => b.state === 'up');
    });
    expect(pool.list()).toHaveLength(12);
    // Shards moved off the node while it was gone are on it still, and deleted now that it answers.
    const returned = pool.list().filter((x) => x.node === victim.nodeId);
    const shardKeys = async (id: string): Promise<string[]> => {
      const keys: string[] = [];
      for await (const entry of pool.client(id).scanAll()) keys.push(entry.key.toString('latin1'));
      return keys.filter((k) => !k.startsWith('meta:')); // the manifest copies kept for `meta rebuild` stay
    };
    let before = 0;
    for (const b of returned) before += (await shardKeys(b.id).catch(() => [])).length;
    if (failure === 'killed') expect(before).toBeGreaterThan(0);
    // As the store's delete loop does: passes until the node answers every delete (after a cut
    // link, requests on connections from before it time out first).
    const deleter = new Deleter(meta, pool, { batch: 256, leaseMs: 0 });
    await until(
      'the stale shards deleted from the returned node',
      async () => {
        await deleter.drain();
        for (const b of returned) if ((await shardKeys(b.id)).length > 0) return undefined;
        return true;
      },
      30_000,
    );
    for (const b of returned) {
      const manifests = await Promise.all([...written.keys()].map(manifestOf));
      const referenced = manifests.flatMap((m) => m.chunks.flatMap((c) => c.shards)).filter((s) => s.backend === b.id);
      expect(referenced).toEqual([]);
    }
    const data = content(900 * 1024, 99);
    await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'after-return', Body: data }));
    written.set('after-return', data);
    for (const chunk of (await manifestOf('after-return')).chunks)
      expect(new Set(chunk.shards.map((s) => nodeOf(s.backend))).size).toBe(6);
    expect(
      (await manifestOf('after-return')).chunks.some((c) => c.shards.some((s) => nodeOf(s.backend) === victim.nodeId)),
    ).toBe(true);
    await readAll();
  }, 60_000);

  it(`a node ${failure} during a write load: no PUT fails while the write quorum holds, and all read back`, async () => {
    const victim = agents[2]!;
    const lanes = 6;
    const perLane = 8;
    let done = 0;
    let lost = false;
    const failures: unknown[] = [];
    const lose = async (): Promise<void> => {
      lost = true;
      if (failure === 'link cut') return hosts[2]!.cut();
      const pids = [0, 1].map((d) => victim.zdbPid(d));
      victim.child.kill('SIGKILL');
      for (const pid of pids) process.kill(pid, 'SIGKILL');
    };
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let i = 0; i < perLane; i++) {
          const key = `load-${lane}-${i}`;
          const data = content(300 * 1024 + lane * 7919 + i * 101, 1000 + lane * perLane + i);
          try {
            await s3.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: data }));
            written.set(key, data);
          } catch (e) {
            failures.push(e);
          }
          // The node goes once a quarter of the load is done, with writes to it in flight.
          if (++done === (lanes * perLane) / 4 && !lost) await lose();
        }
      }),
    );
    console.log(`write load: ${lanes * perLane} PUTs in ${Math.round(performance.now() - t0)} ms, node ${failure}`);
    expect(lost).toBe(true);
    expect(failures).toEqual([]);
    for (let lane = 0; lane < lanes; lane++) {
      for (let i = 0; i < perLane; i++) {
        for (const chunk of (await manifestOf(`load-${lane}-${i}`)).chunks)
          expect(chunk.shards.filter((x) => !x.missing).length).toBeGreaterThanOrEqual(store.writeQuorum);
      }
    }
    await readAll();
  }, 120_000);
}

describe('a store over nodes found through the registry, a node killed', () => clusterSuite('killed'));
describe.skipIf(!canMakeTestHosts())('a store over nodes in network namespaces of their own, a link cut', () =>
  clusterSuite('link cut'),
);
