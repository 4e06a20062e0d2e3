// The registry's data layer in-process, as gateways use it, on both engines: sqlite (the
// metadata store's own meta.db) and PostgreSQL (one database several gateways share). Node
// states and backends against a given clock, farms, admissions and grants, and the sequence
// check of registrations and heartbeats when two registries over one database take the same
// signed message at once.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { identityFromSeed, Registry, Signer, type RegistryLocation } from '../src/agent/index.js';
import { verifyGrant } from '../src/agent/grants.js';
import { HEARTBEAT_KIND, REGISTER_KIND } from '../src/agent/registry/registry.js';
import type { NodeReport } from '../src/agent/report.js';
import { REGISTRY_AUDIENCE } from '../src/agent/signed.js';
import { SqliteMetaStore } from '../src/meta/index.js';
import {
  REGISTRY_ENGINES,
  registryMetadataUrl,
  stopRegistryEngines,
  type RegistryEngine,
} from './helpers/registry-engines.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-registry-db-'));
afterAll(async () => {
  await stopRegistryEngines();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const report = (zdbState: 'up' | 'down'): NodeReport => ({
  addresses: ['10.0.0.7', '127.0.0.1'],
  agentUrl: 'http://10.0.0.7:9700',
  capacity: {
    cores: 4,
    memoryBytes: 8 << 30,
    disks: [
      {
        name: 'disk0',
        totalBytes: 1000,
        freeBytes: 600,
        zdb: { port: 9900, state: 'up', namespaces: 2, usedBytes: 300 },
      },
      {
        name: 'disk1',
        totalBytes: 8 * 2 ** 40,
        freeBytes: 6 * 2 ** 40,
        zdb: { port: 9901, state: zdbState, namespaces: 0, usedBytes: 0 },
      },
    ],
  },
});

const newSigner = () => new Signer(identityFromSeed(crypto.randomBytes(32)));
const codeOf = (r: PromiseSettledResult<unknown>) =>
  r.status === 'fulfilled' ? 'ok' : (r.reason as { code?: string }).code;

/** A fresh, empty place for the registry's tables on `engine`. */
async function fresh(engine: RegistryEngine, test: string): Promise<RegistryLocation> {
  return { dbPath: path.join(tmp, `${engine}-${test}.db`), metadataUrl: await registryMetadataUrl(engine) };
}

describe.each(REGISTRY_ENGINES)('Registry on $engine', ({ engine }) => {
  it('computes node states and backends, and keeps them across a reopen', async () => {
    const where = await fresh(engine, 'states');
    const reg = await Registry.open(where, { downAfterMs: 1000 });
    const { farmerToken, farmId } = await reg.createFarm('farm-1', 1_000);
    const node = newSigner();
    const t0 = Date.now();
    await reg.acceptRegistration(
      node.sign(REGISTER_KIND, REGISTRY_AUDIENCE, { ...report('up'), farmToken: farmerToken }, t0),
      t0,
    );
    await reg.acceptHeartbeat(
      node.id,
      node.sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, report('down'), t0 + 500),
      t0 + 500,
    );

    const [n] = await reg.listNodes();
    expect(n).toMatchObject({ id: node.id, farmId, farmName: 'farm-1', lastHeartbeat: t0 + 500, registeredAt: t0 });
    expect(n!.capacity).toEqual(report('down').capacity);
    expect(reg.nodeState(n!, t0 + 1500)).toBe('up');
    expect(reg.nodeState(n!, t0 + 1501)).toBe('down');
    expect(reg.nodeState(n!, t0 + 1501, 5000)).toBe('up');
    expect((await reg.listBackends(t0 + 600)).map((b) => [b.disk, b.host, b.port, b.freeBytes, b.state])).toEqual([
      ['disk0', '10.0.0.7', 9900, 600, 'up'],
      ['disk1', '10.0.0.7', 9901, 6 * 2 ** 40, 'down'],
    ]);
    expect((await reg.listBackends(t0 + 2000)).every((b) => b.state === 'down')).toBe(true);
    await reg.close();

    // The migrations run again on the same tables without change.
    const again = await Registry.open(where);
    expect(await again.getNode(node.id)).toEqual(n);
    expect(await again.listFarms()).toEqual([{ farmId, name: 'farm-1', created: 1_000 }]);
    await again.close();
  });

  it('refuses a taken farm name, wrong farm tokens, a node moving farm and a disk named twice', async () => {
    const reg = await Registry.open(await fresh(engine, 'refusals'));
    const a = await reg.createFarm('farm-a');
    const b = await reg.createFarm('farm-b');
    await expect(reg.createFarm('farm-a')).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(reg.farmOfToken(a.farmerToken)).resolves.toBe(a.farmId);
    for (const t of [
      `${a.farmId}.wrong`,
      `999.${a.farmerToken.split('.')[1]}`,
      'garbage',
      `${b.farmId}.${a.farmerToken.split('.')[1]}`,
    ])
      await expect(reg.farmOfToken(t)).rejects.toMatchObject({ code: 'BAD_FARM_TOKEN' });

    const node = newSigner();
    const register = (token: string, r: NodeReport = report('up')) =>
      reg.acceptRegistration(node.sign(REGISTER_KIND, REGISTRY_AUDIENCE, { ...r, farmToken: token }));
    await expect(register(`${a.farmId}.wrong`)).rejects.toMatchObject({ code: 'BAD_FARM_TOKEN' });
    const twice = report('up');
    twice.capacity.disks[1]!.name = 'disk0';
    await expect(register(a.farmerToken, twice)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(await reg.getNode(node.id)).toBeUndefined();
    await register(a.farmerToken);
    await expect(register(b.farmerToken)).rejects.toMatchObject({ code: 'FARM_MISMATCH' });
    await expect(
      reg.acceptHeartbeat(node.id, node.sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, twice)),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect((await reg.getNode(node.id))!.capacity.disks.map((d) => d.name)).toEqual(['disk0', 'disk1']);
    const stranger = newSigner();
    await expect(
      reg.acceptHeartbeat(stranger.id, stranger.sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, report('up'))),
    ).rejects.toMatchObject({ code: 'UNKNOWN_NODE' });
    await reg.close();
  });

  it('admits, replaces, lists and revokes stores, and signs grants only for admitted ones', async () => {
    const identity = identityFromSeed(crypto.randomBytes(32));
    const reg = await Registry.open(await fresh(engine, 'admissions'), { identity });
    const { farmId } = await reg.createFarm('farm-a');
    const store = newSigner();
    const node = newSigner().id;
    const now = Date.now();
    expect(await reg.grantFor(store.id, farmId, now)).toBeUndefined();
    expect(await reg.admitStore(farmId, { store: store.id, rights: ['storage'] }, 1_000)).toEqual({
      farmId,
      store: store.id,
      node: null,
      rights: ['storage'],
      expires: null,
      created: 1_000,
    });
    const expires = now + 10 * 60_000;
    await reg.admitStore(farmId, { store: store.id, rights: ['storage', 'compute'], node, expires }, 2_000);
    expect(await reg.listAdmissions(farmId)).toEqual([
      { farmId, store: store.id, node, rights: ['storage', 'compute'], expires, created: 2_000 },
    ]);
    const grant = (await reg.grantFor(store.id, farmId, now))!;
    expect(grant).toMatchObject({ store: store.id, farm: farmId, node, rights: ['storage', 'compute'], expires });
    expect(verifyGrant(grant, { store: store.id, farm: farmId, node, registryKey: identity.id, now })).toEqual([
      'storage',
      'compute',
    ]);
    await expect(
      reg.acceptGrantRequest(store.sign('store.grant', REGISTRY_AUDIENCE, { farmId: farmId + 1 })),
    ).rejects.toMatchObject({ code: 'NOT_ADMITTED' });
    expect(await reg.acceptGrantRequest(store.sign('store.grant', REGISTRY_AUDIENCE, { farmId }))).toMatchObject({
      store: store.id,
    });
    expect(await reg.grantFor(store.id, farmId, expires)).toBeUndefined();
    expect(await reg.revokeStore(farmId, store.id)).toBe(true);
    expect(await reg.revokeStore(farmId, store.id)).toBe(false);
    expect(await reg.listAdmissions(farmId)).toEqual([]);
    expect(await reg.grantFor(store.id, farmId, now)).toBeUndefined();
    await reg.close();
  });

  it('accepts one signed registration or heartbeat once, when two registries over one database take it at once', async () => {
    const where = await fresh(engine, 'replays');
    const gateways = [await Registry.open(where), await Registry.open(where)];
    const { farmerToken } = await gateways[0]!.createFarm('farm-a');
    for (let round = 0; round < 5; round++) {
      const node = newSigner();
      const registration = node.sign(REGISTER_KIND, REGISTRY_AUDIENCE, { ...report('up'), farmToken: farmerToken });
      const registered = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => gateways[i % 2]!.acceptRegistration(registration)),
      );
      expect(registered.map(codeOf).sort()).toEqual([
        'REPLAY',
        'REPLAY',
        'REPLAY',
        'REPLAY',
        'REPLAY',
        'REPLAY',
        'REPLAY',
        'ok',
      ]);
      const beat = node.sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, report('down'));
      const beats = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => gateways[i % 2]!.acceptHeartbeat(node.id, beat)),
      );
      expect(beats.map(codeOf).sort()).toEqual([
        'REPLAY',
        'REPLAY',
        'REPLAY',
        'REPLAY',
        'REPLAY',
        'REPLAY',
        'REPLAY',
        'ok',
      ]);
    }
    expect(await gateways[1]!.listNodes()).toHaveLength(5);
    for (const g of gateways) await g.close();
  });
});

describe('Registry on sqlite', () => {
  it('shares meta.db with the metadata store, each with its own migrations, the file 0600', async () => {
    const db = path.join(tmp, 'meta.db');
    const meta = new SqliteMetaStore(db);
    await meta.createBucket('photos');
    const reg = await Registry.open({ dbPath: db });
    const { farmId } = await reg.createFarm('farm-1', 1_000);
    await reg.close();
    await meta.close();

    const meta2 = new SqliteMetaStore(db);
    const reg2 = await Registry.open({ dbPath: db });
    expect((await meta2.listBuckets()).map((b) => b.name)).toEqual(['photos']);
    expect(await reg2.listFarms()).toEqual([{ farmId, name: 'farm-1', created: 1_000 }]);
    expect(fs.statSync(db).mode & 0o777).toBe(0o600);
    await reg2.close();
    await meta2.close();
  });
});

describe('Registry on PostgreSQL', () => {
  it('migrates once when gateways start together, over a pool it leaves open', async () => {
    const url = (await registryMetadataUrl('postgres'))!;
    const starting = await Promise.all(
      Array.from({ length: 4 }, () => Registry.open({ dbPath: '', metadataUrl: url })),
    );
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const shared = await Registry.open({ dbPath: '', pool });
    await shared.createFarm('farm-a');
    expect((await starting[3]!.listFarms()).map((f) => f.name)).toEqual(['farm-a']);
    for (const r of [...starting, shared]) await r.close();
    // The pool was passed in: still usable after the registry closed.
    const { rows } = await pool.query<{ version: number }>('SELECT version FROM registry_schema');
    expect(rows).toEqual([{ version: 2 }]);
    await pool.query('UPDATE registry_schema SET version = 99');
    await expect(Registry.open({ dbPath: '', pool })).rejects.toMatchObject({ code: 'SCHEMA_TOO_NEW' });
    await pool.end();
  });
});
