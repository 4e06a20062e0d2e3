// The registry's data layer in-process, as the gateway uses it: in the metadata store's own
// meta.db, next to it, with node states and backends computed against a given clock.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { identityFromSeed, Registry, Signer } from '../../src/agent/index.js';
import { HEARTBEAT_KIND, REGISTER_KIND } from '../../src/agent/registry/registry.js';
import type { NodeReport } from '../../src/agent/report.js';
import { REGISTRY_AUDIENCE } from '../../src/agent/signed.js';
import { SqliteMetaStore } from '../../src/meta/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-registry-db-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

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
        totalBytes: 2000,
        freeBytes: 1500,
        zdb: { port: 9901, state: zdbState, namespaces: 0, usedBytes: 0 },
      },
    ],
  },
});

describe('Registry in meta.db', () => {
  it('shares the file with the metadata store and computes states and backends', async () => {
    const db = path.join(tmp, 'meta.db');
    const meta = new SqliteMetaStore(db);
    await meta.createBucket('photos');
    const reg = new Registry(db, { downAfterMs: 1000 });
    const { farmerToken, farmId } = reg.createFarm('farm-1', 1_000);
    const node = new Signer(identityFromSeed(crypto.randomBytes(32)));
    const t0 = Date.now();
    reg.acceptRegistration(
      node.sign(REGISTER_KIND, REGISTRY_AUDIENCE, { ...report('up'), farmToken: farmerToken }, t0),
      t0,
    );
    reg.acceptHeartbeat(node.id, node.sign(HEARTBEAT_KIND, REGISTRY_AUDIENCE, report('down'), t0 + 500), t0 + 500);

    const [n] = reg.listNodes();
    expect(n).toMatchObject({ id: node.id, farmId, farmName: 'farm-1', lastHeartbeat: t0 + 500, registeredAt: t0 });
    expect(reg.nodeState(n!, t0 + 1500)).toBe('up');
    expect(reg.nodeState(n!, t0 + 1501)).toBe('down');
    expect(reg.nodeState(n!, t0 + 1501, 5000)).toBe('up');
    expect(reg.listBackends(t0 + 600).map((b) => [b.disk, b.host, b.port, b.freeBytes, b.state])).toEqual([
      ['disk0', '10.0.0.7', 9900, 600, 'up'],
      ['disk1', '10.0.0.7', 9901, 1500, 'down'],
    ]);
    expect(reg.listBackends(t0 + 2000).every((b) => b.state === 'down')).toBe(true);
    reg.close();
    await meta.close();

    // Both migrations run again on the shared file without touching each other's tables.
    const meta2 = new SqliteMetaStore(db);
    const reg2 = new Registry(db);
    expect((await meta2.listBuckets()).map((b) => b.name)).toEqual(['photos']);
    expect(reg2.getNode(node.id)?.capacity.disks).toHaveLength(2);
    expect(reg2.listFarms()).toEqual([{ farmId, name: 'farm-1', created: 1_000 }]);
    expect(fs.statSync(db).mode & 0o777).toBe(0o600);
    reg2.close();
    await meta2.close();
  });
});
