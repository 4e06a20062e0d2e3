// The registry as a real process: farms, signed registrations and heartbeats, and every
// refusal (forged, replayed, wrong farm, unregistered, wrong node) with its status and code;
// on both engines: its tables in its own meta.db, or in a PostgreSQL database (QSTOR_METADATA).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityFromSeed } from '../src/agent/identity.js';
import { HEARTBEAT_KIND, REGISTER_KIND } from '../src/agent/registry/registry.js';
import type { NodeReport } from '../src/agent/report.js';
import { REGISTRY_AUDIENCE, Signer, type SignedEnvelope } from '../src/agent/signed.js';
import { startRegistry, type RegistryProcess } from './helpers/agent-harness.js';
import { REGISTRY_ENGINES, registryMetadataUrl, stopRegistryEngines } from './helpers/registry-engines.js';

let tmp: string;
let reg: RegistryProcess;
let farmToken: string;

const newSigner = () => new Signer(identityFromSeed(crypto.randomBytes(32)));

const report = (free = 50 << 20): NodeReport => ({
  addresses: ['127.0.0.1'],
  agentUrl: 'http://127.0.0.1:1',
  capacity: {
    cores: 2,
    memoryBytes: 1 << 30,
    disks: [
      {
        name: 'disk0',
        totalBytes: 100 << 20,
        freeBytes: free,
        zdb: { port: 9900, state: 'up', namespaces: 1, usedBytes: 4096 },
      },
    ],
  },
});

async function post(
  route: string,
  payload: unknown,
  token?: string,
): Promise<{ status: number; body: { code?: string; message?: string } & Record<string, unknown> }> {
  const res = await fetch(`${reg.url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(payload),
  });
  return { status: res.status, body: (await res.json()) as { code?: string } };
}

const register = (s: Signer, token = farmToken) =>
  post('/v1/nodes', s.sign(REGISTER_KIND, REGISTRY_AUDIENCE, { ...report(), farmToken: token }));
const heartbeat = (s: Signer, e: SignedEnvelope = s.sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, report()), id = s.id) =>
  post(`/v1/nodes/${id}/heartbeat`, e);

afterAll(stopRegistryEngines);

describe.each(REGISTRY_ENGINES)('registry on $engine', ({ engine }) => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-registry-'));
    reg = await startRegistry(path.join(tmp, 'reg'), 30, await registryMetadataUrl(engine));
    farmToken = (await reg.client.createFarm(reg.adminToken, 'farm-a')).farmerToken;
  });
  afterAll(async () => {
    await reg?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('creates farms with the admin token only, and refuses a duplicate name', async () => {
    // The tables are where the engine says: a meta.db in the data directory only for sqlite.
    expect(fs.existsSync(path.join(tmp, 'reg', 'meta.db'))).toBe(engine === 'sqlite');
    expect(await post('/v1/farms', { name: 'x' })).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } });
    expect(await post('/v1/farms', { name: 'x' }, 'not-the-admin-token')).toMatchObject({
      status: 401,
      body: { code: 'UNAUTHORIZED' },
    });
    expect((await fetch(`${reg.url}/v1/nodes`)).status).toBe(401);
    expect(await post('/v1/farms', { name: 'farm-a' }, reg.adminToken)).toMatchObject({
      status: 409,
      body: { code: 'CONFLICT' },
    });
    const b = await post('/v1/farms', { name: 'farm-b' }, reg.adminToken);
    expect(b.status).toBe(201);
    expect(b.body['farmerToken']).toMatch(/^\d+\./);
    expect((await reg.client.listFarms(reg.adminToken)).map((f) => f.name)).toEqual(['farm-a', 'farm-b']);
  });

  it('registers a signed node and takes its heartbeats, with capacity and free space', async () => {
    const s = newSigner();
    expect(await register(s)).toMatchObject({ status: 201, body: { nodeId: s.id } });
    expect((await heartbeat(s, s.sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, report(7 << 20)))).status).toBe(200);
    const { nodes } = await reg.client.listNodes(reg.adminToken);
    const node = nodes.find((n) => n.id === s.id)!;
    expect(node).toMatchObject({
      farmName: 'farm-a',
      state: 'up',
      addresses: ['127.0.0.1'],
      capacity: { cores: 2, memoryBytes: 1 << 30 },
    });
    expect(node.capacity.disks).toEqual([
      {
        name: 'disk0',
        totalBytes: 100 << 20,
        freeBytes: 7 << 20,
        zdb: { port: 9900, state: 'up', namespaces: 1, usedBytes: 4096 },
      },
    ]);
    const backends = await reg.client.listBackends(reg.adminToken);
    expect(backends.find((b) => b.nodeId === s.id)).toMatchObject({
      host: '127.0.0.1',
      port: 9900,
      disk: 'disk0',
      freeBytes: 7 << 20,
      state: 'up',
    });
  });

  it('refuses a wrong or unknown farm token', async () => {
    const s = newSigner();
    const [farmId] = farmToken.split('.');
    expect(await register(s, `${farmId}.wrong-secret`)).toMatchObject({
      status: 403,
      body: { code: 'BAD_FARM_TOKEN' },
    });
    expect(await register(s, `999.${farmToken.split('.')[1]}`)).toMatchObject({
      status: 403,
      body: { code: 'BAD_FARM_TOKEN' },
    });
    expect(await register(s, 'garbage')).toMatchObject({ status: 403, body: { code: 'BAD_FARM_TOKEN' } });
    // The node is in one farm for good: another farm's valid token does not move it.
    expect((await register(s)).status).toBe(201);
    const other = (await reg.client.createFarm(reg.adminToken, 'farm-c')).farmerToken;
    expect(await register(s, other)).toMatchObject({ status: 409, body: { code: 'FARM_MISMATCH' } });
  });

  it('refuses forged signatures', async () => {
    const s = newSigner();
    await register(s);
    const tampered = s.sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, report());
    tampered.body.capacity.disks[0]!.freeBytes = 1;
    expect(await heartbeat(s, tampered)).toMatchObject({ status: 401, body: { code: 'BAD_SIGNATURE' } });
    // Signed by another key while claiming to be the node.
    const impostor = newSigner().sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, report());
    expect(await heartbeat(s, { ...impostor, signer: s.id })).toMatchObject({
      status: 401,
      body: { code: 'BAD_SIGNATURE' },
    });
    expect(await heartbeat(s, { ...s.sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, report()), sig: 'AAAA' })).toMatchObject({
      status: 401,
      body: { code: 'BAD_SIGNATURE' },
    });
    expect(await post(`/v1/nodes/${s.id}/heartbeat`, { nonsense: true })).toMatchObject({
      status: 400,
      body: { code: 'BAD_REQUEST' },
    });
  });

  it('refuses replayed and stale heartbeats', async () => {
    const s = newSigner();
    await register(s);
    const e = s.sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, report());
    expect((await heartbeat(s, e)).status).toBe(200);
    expect(await heartbeat(s, e)).toMatchObject({ status: 409, body: { code: 'REPLAY' } });
    // Older sequence than the last accepted, though signed correctly.
    const older = s.sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, report());
    expect((await heartbeat(s)).status).toBe(200);
    expect(await heartbeat(s, older)).toMatchObject({ status: 409, body: { code: 'REPLAY' } });
    // Timestamp far outside the window (a fresh signer: the sequence alone would pass).
    const t = newSigner();
    await register(t);
    const stale = t.sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, report(), Date.now() + 3_600_000);
    expect(await heartbeat(t, stale)).toMatchObject({ status: 409, body: { code: 'REPLAY' } });
  });

  it('refuses heartbeats of unregistered nodes, for another node, or of another kind', async () => {
    const stranger = newSigner();
    expect(await heartbeat(stranger)).toMatchObject({ status: 404, body: { code: 'UNKNOWN_NODE' } });
    const a = newSigner();
    const b = newSigner();
    await register(a);
    await register(b);
    expect(await heartbeat(a, a.sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, report()), b.id)).toMatchObject({
      status: 403,
      body: { code: 'WRONG_AUDIENCE' },
    });
    expect(await heartbeat(a, a.sign(REGISTER_KIND, REGISTRY_AUDIENCE, report()))).toMatchObject({
      status: 403,
      body: { code: 'WRONG_AUDIENCE' },
    });
    expect(await heartbeat(a, a.sign(HEARTBEAT_KIND, 'another-registry', report()))).toMatchObject({
      status: 403,
      body: { code: 'WRONG_AUDIENCE' },
    });
    const bad = await heartbeat(
      a,
      a.sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, { ...report(), capacity: { cores: 0, memoryBytes: 1, disks: [] } }),
    );
    expect(bad).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    expect(bad.body.message).toContain('body.capacity.cores');
  });

  it('never logs the admin or farmer tokens', () => {
    const log = fs.readFileSync(reg.logFile, 'utf8');
    expect(log).toContain('refused');
    expect(log).not.toContain(reg.adminToken);
    expect(log).not.toContain(farmToken.split('.')[1]);
  });
});
