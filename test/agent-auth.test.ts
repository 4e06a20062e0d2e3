// Who an agent acts for: only stores its farmer admitted, in the agent's config or at the
// registry (which then signs grants the agent checks against the registry key it pinned). An
// unknown key is refused and leaves nothing behind; storage and compute are separate rights;
// grants for another farm or node, expired, or signed by another key are refused. The registry's
// tables on both engines (sqlite, PostgreSQL).
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../src/agent/agent-client.js';
import { AgentError } from '../src/agent/errors.js';
import { signGrant, type Grant, type GrantTerms } from '../src/agent/grants.js';
import { identityFromSeed } from '../src/agent/identity.js';
import { Signer } from '../src/agent/signed.js';
import { startAgent, startRegistry, type AgentProcess, type RegistryProcess } from './helpers/agent-harness.js';
import { REGISTRY_ENGINES, registryMetadataUrl, stopRegistryEngines } from './helpers/registry-engines.js';

const exec = promisify(execFile);
const QSTOR = path.resolve('bin/qstor.js');

let tmp: string;
let reg: RegistryProcess;
let agent: AgentProcess;
let farm: { farmId: number; farmerToken: string };
let otherFarm: { farmId: number; farmerToken: string };
let farmTokenFile: string;
const newStore = () => new Signer(identityFromSeed(crypto.randomBytes(32)));
const storageByConfig = newStore();
const computeByConfig = newStore();

const client = (signer: Signer, grant?: Grant) =>
  new AgentClient({ url: agent.url, nodeId: agent.nodeId, signer, grant });
const registryIdentity = () => identityFromSeed(fs.readFileSync(reg.identityFile));

/** The refusal's code and the server's message, or 'ok' when the call went through. */
async function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => {
      if (!(e instanceof AgentError)) throw e;
      // The client's message is `METHOD URL: STATUS CODE: <the server's message>`.
      return `${e.code}: ${e.message.replace(/^.*? \d{3} [A-Z_]+: /, '')}`;
    },
  );
}

const createNs = (c: AgentClient) => outcome(c.createNamespace({ size: 1 << 20, mode: 'user' }));
// A flist that does not exist: past the admission check the agent answers NOT_FOUND, so this
// probes the compute right without mounting anything.
const startWorkload = (c: AgentClient) =>
  outcome(c.startWorkload({ flist: path.join(tmp, 'none.fl'), command: ['/bin/sh', '-c', 'id'] }));

async function farmer(...args: string[]): Promise<string> {
  return (
    await exec(process.execPath, [
      QSTOR,
      'admin',
      'farm',
      ...args,
      '--registry',
      reg.url,
      '--farm-token-file',
      farmTokenFile,
    ])
  ).stdout;
}

afterAll(stopRegistryEngines);

describe.each(REGISTRY_ENGINES)('admissions with the registry on $engine', ({ engine }) => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-auth-'));
    reg = await startRegistry(path.join(tmp, 'reg'), 30, await registryMetadataUrl(engine));
    farm = await reg.client.createFarm(reg.adminToken, 'farm');
    otherFarm = await reg.client.createFarm(reg.adminToken, 'other-farm');
    farmTokenFile = path.join(tmp, 'farm.token');
    fs.writeFileSync(farmTokenFile, farm.farmerToken, { mode: 0o600 });
    agent = await startAgent(path.join(tmp, 'node'), {
      registry: reg.url,
      farmToken: farm.farmerToken,
      disks: 1,
      stores: { [storageByConfig.id]: ['storage'], [computeByConfig.id]: ['compute'] },
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await reg?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('agent admission', () => {
    it('refuses a key nobody admitted, with 403, and keeps no trace of it', async () => {
      const before = fs.readFileSync(agent.stateFile);
      const stat = fs.statSync(agent.stateFile);
      const stranger = newStore();
      expect(await createNs(client(stranger))).toMatch(/^NOT_ADMITTED: .*no storage right/);
      expect(await startWorkload(client(stranger))).toMatch(/^NOT_ADMITTED: .*no compute right/);
      expect(await outcome(client(stranger).listNamespaces())).toMatch(/^NOT_ADMITTED/);
      const res = await fetch(`${agent.url}/v1/workloads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(stranger.sign('workload.start', agent.nodeId, { flist: '/x.fl', command: ['/bin/sh'] })),
      });
      expect(res.status).toBe(403);
      // Byte for byte the same file, not even rewritten (same inode and mtime: no save, no fsync).
      expect(fs.readFileSync(agent.stateFile).equals(before)).toBe(true);
      const after = fs.statSync(agent.stateFile);
      expect([after.ino, after.mtimeMs]).toEqual([stat.ino, stat.mtimeMs]);
      expect(before.toString()).not.toContain(stranger.id);
    });

    it('serves the stores of its config, each for its own right only', async () => {
      expect(await createNs(client(storageByConfig))).toBe('ok');
      expect(await startWorkload(client(storageByConfig))).toMatch(/^NOT_ADMITTED: .*no compute right/);
      expect(await createNs(client(computeByConfig))).toMatch(/^NOT_ADMITTED: .*no storage right/);
      expect(await startWorkload(client(computeByConfig))).toMatch(/^NOT_FOUND: no flist/);
      expect(fs.readFileSync(agent.stateFile, 'utf8')).toContain(storageByConfig.id);
    });

    it('pins the registry key at its first registration', () => {
      expect(JSON.parse(fs.readFileSync(agent.stateFile, 'utf8')).registryKey).toBe(registryIdentity().id);
    });

    it('serves a store its farmer admitted at the registry, with the grant the registry signs', async () => {
      const store = newStore();
      expect(await outcome(reg.client.grant(store, farm.farmId))).toMatch(/^NOT_ADMITTED/);
      expect(
        await farmer('admit', '--farm', String(farm.farmId), '--store', store.id, '--rights', 'storage'),
      ).toContain(`store ${store.id} admitted in farm ${farm.farmId} for storage`);
      const grant = await reg.client.grant(store, farm.farmId);
      expect(grant).toMatchObject({
        store: store.id,
        farm: farm.farmId,
        rights: ['storage'],
        registry: registryIdentity().id,
      });
      expect(await createNs(client(store, grant))).toBe('ok');
      expect(await createNs(client(store))).toMatch(/^NOT_ADMITTED/);
      // The grant is for storage only, and for no other store.
      expect(await startWorkload(client(store, grant))).toMatch(
        /^NOT_ADMITTED: .*granted storage on this farm, not compute/,
      );
      expect(await createNs(client(newStore(), grant))).toMatch(/^NOT_ADMITTED: grant refused: it is for store/);
      expect(await farmer('stores')).toContain(`${store.id}  storage  node any  until revoked`);

      // Compute only: workloads yes, namespaces no.
      const worker = newStore();
      await reg.client.admitStore(farm.farmerToken, farm.farmId, { store: worker.id, rights: ['compute'] });
      const computeGrant = await reg.client.grant(worker, farm.farmId);
      expect(await startWorkload(client(worker, computeGrant))).toMatch(/^NOT_FOUND: no flist/);
      expect(await createNs(client(worker, computeGrant))).toMatch(
        /^NOT_ADMITTED: .*granted compute on this farm, not storage/,
      );

      // Revoked: the registry grants nothing more.
      await farmer('revoke', '--store', store.id);
      expect(await outcome(reg.client.grant(store, farm.farmId))).toMatch(/^NOT_ADMITTED/);
    });

    it('refuses grants for another farm or node, expired, or not signed by the pinned registry key', async () => {
      const store = newStore();
      const terms: GrantTerms = {
        store: store.id,
        farm: farm.farmId,
        rights: ['storage', 'compute'],
        expires: Date.now() + 60_000,
      };
      const key = registryIdentity();
      // The control: a good grant made the same way works.
      expect(await createNs(client(store, signGrant(key, terms)))).toBe('ok');
      expect(await createNs(client(store, signGrant(key, { ...terms, node: agent.nodeId })))).toBe('ok');
      const before = fs.readFileSync(agent.stateFile);
      const stranger = newStore();
      const strangerTerms = { ...terms, store: stranger.id };
      const refused = {
        otherFarm: signGrant(key, { ...strangerTerms, farm: otherFarm.farmId }),
        otherNode: signGrant(key, { ...strangerTerms, node: 'e'.repeat(64) }),
        expired: signGrant(key, { ...strangerTerms, expires: Date.now() - 1000 }),
        otherKey: signGrant(identityFromSeed(crypto.randomBytes(32)), strangerTerms),
        tampered: { ...signGrant(key, { ...strangerTerms, rights: ['compute'] }), rights: ['storage' as const] },
      };
      expect(await createNs(client(stranger, refused.otherFarm))).toMatch(
        `NOT_ADMITTED: grant refused: it is for farm ${otherFarm.farmId}; this node is in farm ${farm.farmId}`,
      );
      expect(await createNs(client(stranger, refused.otherNode))).toMatch(
        /^NOT_ADMITTED: grant refused: it is for node eeee/,
      );
      expect(await createNs(client(stranger, refused.expired))).toMatch(/^NOT_ADMITTED: grant refused: it expired at/);
      expect(await createNs(client(stranger, refused.otherKey))).toMatch(
        /^NOT_ADMITTED: grant refused: signed by registry key/,
      );
      expect(await createNs(client(stranger, refused.tampered))).toMatch(
        /^NOT_ADMITTED: grant refused: its signature does not verify/,
      );
      for (const grant of Object.values(refused))
        expect(await startWorkload(client(stranger, grant))).toMatch(/^NOT_ADMITTED/);
      expect(fs.readFileSync(agent.stateFile).equals(before)).toBe(true);
    });

    it('lets only the farm token admit stores in its farm', async () => {
      const store = newStore().id;
      const admit = (token: string, farmId: number) =>
        outcome(reg.client.admitStore(token, farmId, { store, rights: ['storage'] }));
      expect(await admit(`${farm.farmId}.wrong`, farm.farmId)).toMatch(/^BAD_FARM_TOKEN/);
      expect(await admit(farm.farmerToken, otherFarm.farmId)).toMatch(/^BAD_FARM_TOKEN/);
      expect(await admit(reg.adminToken, farm.farmId)).toMatch(/^BAD_FARM_TOKEN/);
      expect(await outcome(reg.client.admitStore(farm.farmerToken, farm.farmId, { store, rights: [] }))).toMatch(
        /^BAD_REQUEST: body.rights/,
      );
      expect(await admit(otherFarm.farmerToken, otherFarm.farmId)).toBe('ok');
      expect(
        await outcome(reg.client.grant(new Signer(identityFromSeed(crypto.randomBytes(32))), otherFarm.farmId)),
      ).toMatch(/^NOT_ADMITTED/);
    });
  });
});
