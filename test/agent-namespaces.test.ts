// Namespace reservations on a real agent's zdbs, asked by stores with their own keys: the
// password works and only its store learns it; other stores are refused; replays and messages
// for another node are refused; the password is in no log.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../src/agent/agent-client.js';
import { AGENT_KINDS, AGENT_PATHS } from '../src/agent/agent-api.js';
import { AgentError } from '../src/agent/errors.js';
import { identityFromSeed } from '../src/agent/identity.js';
import type { Reservation } from '../src/agent/namespaces.js';
import { Signer } from '../src/agent/signed.js';
import { ZdbClient, ZdbError } from '../src/zdb-client/index.js';
import { startAgent, startRegistry, type AgentProcess, type RegistryProcess } from './helpers/agent-harness.js';

let tmp: string;
let reg: RegistryProcess;
let agent: AgentProcess;
const storeA = new Signer(identityFromSeed(crypto.randomBytes(32)));
const storeB = new Signer(identityFromSeed(crypto.randomBytes(32)));
let a: AgentClient;
let b: AgentClient;
const passwords: string[] = [];

function zdb(r: Reservation, password: string | undefined): ZdbClient {
  return new ZdbClient({
    host: r.host,
    port: r.port,
    namespace: r.namespace,
    namespacePassword: password,
    connections: 1,
    connectTimeoutMs: 1000,
    reconnectDelayMs: 60_000,
  });
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AgentError || err instanceof ZdbError))
    throw new Error(`expected a refusal, got ${String(err)}`);
  return err.code;
}

async function create(c: AgentClient, req: Parameters<AgentClient['createNamespace']>[0]): Promise<Reservation> {
  const r = await c.createNamespace(req);
  passwords.push(r.password);
  return r;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-ns-'));
  reg = await startRegistry(path.join(tmp, 'reg'));
  const { farmerToken } = await reg.client.createFarm(reg.adminToken, 'farm');
  agent = await startAgent(path.join(tmp, 'node'), {
    registry: reg.url,
    farmToken: farmerToken,
    heartbeatSeconds: 0.3,
    stores: { [storeA.id]: ['storage'], [storeB.id]: ['storage'] },
  });
  a = new AgentClient({ url: agent.url, nodeId: agent.nodeId, signer: storeA });
  b = new AgentClient({ url: agent.url, nodeId: agent.nodeId, signer: storeB });
});
afterAll(async () => {
  await agent?.stop();
  await reg?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('namespace reservations', () => {
  it('creates a private namespace whose password works, with its size limit', async () => {
    const r = await create(a, { size: 64 * 1024, mode: 'user', name: 'shards' });
    expect(r).toMatchObject({ host: '127.0.0.1', addresses: ['127.0.0.1'], size: 64 * 1024, mode: 'user' });
    expect(r.namespace).toBe(`${storeA.id.slice(0, 12)}-shards`);
    expect(r.password.length).toBeGreaterThanOrEqual(24);
    const c = zdb(r, r.password);
    try {
      await c.set('k', 'v');
      expect((await c.get('k'))?.toString()).toBe('v');
      expect(await refusal(c.set('big', Buffer.alloc(80 * 1024)))).toBe('NO_SPACE');
    } finally {
      c.destroy();
    }
    for (const password of [undefined, 'wrong']) {
      const anon = zdb(r, password);
      expect(await refusal(anon.get('k'))).toBe('PERMISSION');
      anon.destroy();
    }
    expect(await refusal(create(a, { size: 1024, mode: 'user', name: 'shards' }))).toBe('CONFLICT');
  });

  it('creates seq namespaces and picks a disk by name or by free space', async () => {
    const r = await create(a, { size: 1 << 20, mode: 'seq', disk: 'disk1' });
    expect(r.disk).toBe('disk1');
    expect(r.port).toBe(agent.zdbBasePort + 1);
    const c = zdb(r, r.password);
    try {
      expect(await c.append('first')).toBe(0);
    } finally {
      c.destroy();
    }
    expect(['disk0', 'disk1']).toContain((await create(a, { size: 1024, mode: 'user' })).disk);
    expect(await refusal(a.createNamespace({ size: 1024, mode: 'user', disk: 'disk9' }))).toBe('NOT_FOUND');
    expect(await refusal(a.createNamespace({ size: 2 ** 52, mode: 'user' }))).toBe('INSUFFICIENT_STORAGE');
  });

  it('counts reservations against free space: 90% of it is promised once, not three times', async () => {
    const { bavail, bsize } = fs.statfsSync(agent.disks[0]!);
    const size = Math.floor(0.9 * bavail * bsize);
    const big = await create(a, { size, mode: 'user', name: 'big' });
    // Both disks share this filesystem: the promise made on one counts on the other.
    for (const disk of [undefined, 'disk0', 'disk1']) {
      const err = await b.createNamespace({ size, mode: 'user', disk }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AgentError);
      expect((err as AgentError).code).toBe('INSUFFICIENT_STORAGE');
      expect((err as AgentError).message).toMatch(
        new RegExp(
          `507 INSUFFICIENT_STORAGE: disk\\d: ${size} bytes asked; \\d+ bytes free, \\d+ reserved and not yet written, \\d+ kept free: \\d+ bytes can be reserved`,
        ),
      );
    }
    // Growing counts too; shrinking is always allowed.
    expect(await refusal(a.resizeNamespace(big.namespace, 2 * size))).toBe('INSUFFICIENT_STORAGE');
    await a.resizeNamespace(big.namespace, 1 << 20);
    expect((await b.createNamespace({ size: Math.floor(size / 2), mode: 'user', name: 'half' })).size).toBe(
      Math.floor(size / 2),
    );
    await b.deleteNamespace(`${storeB.id.slice(0, 12)}-half`);
    await a.deleteNamespace(big.namespace);
  });

  it('refuses another store: no resize, lock, delete, and nothing listed', async () => {
    const r = await create(a, { size: 1 << 20, mode: 'user', name: 'mine' });
    expect(await refusal(b.resizeNamespace(r.namespace, 2 << 20))).toBe('NOT_OWNER');
    expect(await refusal(b.lockNamespace(r.namespace))).toBe('NOT_OWNER');
    expect(await refusal(b.deleteNamespace(r.namespace))).toBe('NOT_OWNER');
    expect(await b.listNamespaces()).toEqual([]);
    const listed = await a.listNamespaces();
    expect(listed.map((n) => n.namespace)).toContain(r.namespace);
    expect(JSON.stringify(listed)).not.toContain(r.password);
    // Still intact for its owner.
    const c = zdb(r, r.password);
    try {
      await c.set('still', 'here');
    } finally {
      c.destroy();
    }
  });

  it('resizes, locks and deletes for the owner', async () => {
    const r = await create(a, { size: 1024, mode: 'user', name: 'life' });
    const c = zdb(r, r.password);
    try {
      expect(await refusal(c.set('x', Buffer.alloc(4096)))).toBe('NO_SPACE');
      await a.resizeNamespace(r.namespace, 1 << 20);
      await c.set('x', Buffer.alloc(4096));
      await a.lockNamespace(r.namespace);
      expect(await refusal(c.set('y', 'z'))).toBe('READ_ONLY');
      expect((await c.get('x'))?.length).toBe(4096);
      await a.lockNamespace(r.namespace, false);
      await c.set('y', 'z');
    } finally {
      c.destroy();
    }
    await a.deleteNamespace(r.namespace);
    expect((await a.listNamespaces()).map((n) => n.namespace)).not.toContain(r.namespace);
    expect(await refusal(a.deleteNamespace(r.namespace))).toBe('NOT_FOUND');
  });

  it('refuses replayed requests, requests for another node, and forged ones', async () => {
    const post = async (payload: unknown) => {
      const res = await fetch(`${agent.url}${AGENT_PATHS.list}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      return { status: res.status, code: ((await res.json()) as { code?: string }).code };
    };
    const e = storeA.sign(AGENT_KINDS.list, agent.nodeId, {});
    expect((await post(e)).status).toBe(200);
    expect(await post(e)).toEqual({ status: 409, code: 'REPLAY' });
    expect(await post(storeA.sign(AGENT_KINDS.list, 'f'.repeat(64), {}))).toEqual({
      status: 403,
      code: 'WRONG_AUDIENCE',
    });
    expect(await post(storeA.sign(AGENT_KINDS.delete, agent.nodeId, {}))).toEqual({
      status: 403,
      code: 'WRONG_AUDIENCE',
    });
    expect(await post({ ...storeA.sign(AGENT_KINDS.list, agent.nodeId, {}), signer: storeB.id })).toEqual({
      status: 401,
      code: 'BAD_SIGNATURE',
    });
    expect(await post({ hello: 1 })).toEqual({ status: 400, code: 'BAD_REQUEST' });
  });

  it('never writes a namespace password to the agent or registry logs', async () => {
    expect(passwords.length).toBeGreaterThanOrEqual(4);
    const logs = [
      agent.logFile,
      reg.logFile,
      path.join(agent.dir, 'state', 'agent-state.json'),
      ...agent.disks.map((d) => path.join(d, 'zdb', 'zdb.log')),
    ];
    const text = logs.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    expect(text).toContain('namespace created');
    for (const p of passwords) expect(text).not.toContain(p);
    expect(fs.statSync(path.join(agent.dir, 'state', 'agent-state.json')).mode & 0o777).toBe(0o600);
  });
});
