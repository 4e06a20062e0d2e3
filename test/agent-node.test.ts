// One real agent process (two disks, two supervised zdbs) reporting to a real registry process:
// registration and heartbeats with capacity, down when heartbeats stop and up when they resume,
// a SIGKILLed zdb restarted with its data, an agent restart keeping identity and data, and the
// `qstor admin` commands an operator runs.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../src/agent/agent-client.js';
import { identityFromSeed } from '../src/agent/identity.js';
import type { Reservation } from '../src/agent/namespaces.js';
import { Signer } from '../src/agent/signed.js';
import { ZdbClient } from '../src/zdb-client/index.js';
import { startAgent, startRegistry, until, type AgentProcess, type RegistryProcess } from './helpers/agent-harness.js';

const exec = promisify(execFile);
const QSTOR = path.resolve('bin/qstor.js');
const DOWN_AFTER_S = 1.5;

let tmp: string;
let reg: RegistryProcess;
let agent: AgentProcess;
let farmToken: string;
let ns: Reservation;
const store = new Signer(identityFromSeed(crypto.randomBytes(32)));

const nodeView = async () => (await reg.client.listNodes(reg.adminToken)).nodes.find((n) => n.id === agent.nodeId);

/** Alive and not a zombie (an orphan's reaper may be slow, or absent in a container). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function withNamespace<T>(fn: (c: ZdbClient) => Promise<T>): Promise<T> {
  const c = new ZdbClient({
    host: ns.host,
    port: ns.port,
    namespace: ns.namespace,
    namespacePassword: ns.password,
    connections: 1,
    connectTimeoutMs: 1000,
  });
  try {
    return await fn(c);
  } finally {
    c.destroy();
  }
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-node-'));
  reg = await startRegistry(path.join(tmp, 'reg'), DOWN_AFTER_S);
  // The operator's way: `qstor admin farm create`, the token read from its output.
  const { stdout } = await exec(process.execPath, [
    QSTOR,
    'admin',
    'farm',
    'create',
    '--name',
    'garage',
    '--registry',
    reg.url,
    '--admin-token-file',
    reg.adminTokenFile,
  ]);
  farmToken = /farmer token: (\S+)/.exec(stdout)![1]!;
  agent = await startAgent(path.join(tmp, 'node1'), {
    registry: reg.url,
    farmToken,
    stores: { [store.id]: ['storage'] },
  });
  ns = await new AgentClient({ url: agent.url, nodeId: agent.nodeId, signer: store }).createNamespace({
    size: 16 << 20,
    mode: 'user',
    disk: 'disk1',
  });
  await withNamespace((c) => c.set('kept', 'across restarts'));
});
afterAll(async () => {
  await agent?.stop();
  await reg?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('qstor agent', () => {
  it('registers and heartbeats with cores, memory, and per-disk space and zdb state', async () => {
    const first = (await nodeView())!;
    expect(first).toMatchObject({
      farmName: 'garage',
      addresses: ['127.0.0.1'],
      agentUrl: agent.url,
      state: 'up',
      capacity: { cores: os.cpus().length, memoryBytes: os.totalmem() },
    });
    expect(first.capacity.disks.map((d) => [d.name, d.zdb.port, d.zdb.state])).toEqual([
      ['disk0', agent.zdbBasePort, 'up'],
      ['disk1', agent.zdbBasePort + 1, 'up'],
    ]);
    const { totalBytes, freeBytes } = first.capacity.disks[0]!;
    expect(totalBytes).toBeGreaterThan(0);
    expect(freeBytes).toBeGreaterThan(0);
    expect(freeBytes).toBeLessThanOrEqual(totalBytes);
    // The namespace reserved on disk1 shows in its zdb's figures; heartbeats keep coming.
    const later = await until('a later heartbeat', async () => {
      const n = await nodeView();
      return n && n.lastHeartbeat > first.lastHeartbeat && n.capacity.disks[1]!.zdb.usedBytes > 0 ? n : undefined;
    });
    expect(later.capacity.disks[1]!.zdb.namespaces).toBe(1);
  });

  it('is down once its heartbeats stop, and up again when they resume', async () => {
    agent.child.kill('SIGSTOP');
    try {
      const stoppedAt = Date.now();
      const down = await until(
        'the node to be down',
        async () => ((await nodeView())?.state === 'down' ? Date.now() : undefined),
        10_000,
      );
      expect(down - stoppedAt).toBeGreaterThanOrEqual(DOWN_AFTER_S * 1000 - 600);
    } finally {
      agent.child.kill('SIGCONT');
    }
    await until('the node to be up', async () => ((await nodeView())?.state === 'up' ? true : undefined), 10_000);
  });

  it('restarts a zdb killed with SIGKILL, with its data', async () => {
    const pid = agent.zdbPid(1);
    process.kill(pid, 'SIGKILL');
    await until('a new zdb', () => {
      try {
        return agent.zdbPid(1) !== pid || undefined;
      } catch {
        return undefined;
      }
    });
    const value = await until('the namespace to answer again', () =>
      withNamespace((c) => c.get('kept')).catch(() => undefined),
    );
    expect(value?.toString()).toBe('across restarts');
    expect(fs.readFileSync(agent.logFile, 'utf8')).toContain('zdb exited; restarting');
  });

  it('never puts its zdb admin secret on a command line: the zdb reads it from a 0600 file', () => {
    for (const [i, disk] of agent.disks.entries()) {
      const secretFile = path.join(disk, 'zdb', 'admin.secret');
      const secret = fs.readFileSync(secretFile, 'utf8').trim();
      expect(secret.length).toBeGreaterThanOrEqual(32);
      expect(fs.statSync(secretFile).mode & 0o777).toBe(0o600);
      // What any local user can read of the running zdb.
      const cmdline = fs.readFileSync(`/proc/${agent.zdbPid(i)}/cmdline`, 'utf8').split('\0');
      expect(cmdline).toContain('--admin-file');
      expect(cmdline).not.toContain('--admin');
      expect(cmdline.join(' ')).not.toContain(secret);
    }
  });

  it('keeps its identity and data across an agent restart', async () => {
    const id = agent.nodeId;
    agent = await agent.restart();
    expect(agent.nodeId).toBe(id);
    expect(fs.statSync(path.join(agent.dir, 'state', 'identity.key')).mode & 0o777).toBe(0o600);
    expect(agent.registrations()).toBe(2);
    expect((await reg.client.listNodes(reg.adminToken)).nodes.filter((n) => n.id === id)).toHaveLength(1);
    expect((await withNamespace((c) => c.get('kept')))?.toString()).toBe('across restarts');
    // The new agent still knows who owns the namespace.
    expect(
      (await new AgentClient({ url: agent.url, nodeId: agent.nodeId, signer: store }).listNamespaces()).map(
        (n) => n.namespace,
      ),
    ).toEqual([ns.namespace]);
  });

  it('replaces the zdbs an agent killed with SIGKILL left running', async () => {
    const orphans = [agent.zdbPid(0), agent.zdbPid(1)];
    await new Promise((resolve) => {
      agent.child.once('exit', resolve);
      agent.child.kill('SIGKILL');
    });
    for (const pid of orphans) expect(running(pid)).toBe(true);
    agent = await agent.restart();
    for (const pid of orphans) expect(running(pid)).toBe(false);
    expect([agent.zdbPid(0), agent.zdbPid(1)]).not.toEqual(orphans);
    expect((await withNamespace((c) => c.get('kept')))?.toString()).toBe('across restarts');
  });

  it('`qstor admin nodes` prints a table of the nodes', async () => {
    const { stdout } = await exec(process.execPath, [
      QSTOR,
      'admin',
      'nodes',
      '--registry',
      reg.url,
      '--admin-token-file',
      reg.adminTokenFile,
    ]);
    const [header, row, ...rest] = stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NODE\s+FARM\s+ADDRESSES\s+DISKS\s+USED\s+FREE\s+LAST HEARTBEAT\s+STATE$/);
    expect(rest).toEqual([]);
    expect(row).toContain(agent.nodeId.slice(0, 16));
    expect(agent.registrations()).toBe(3);
    expect(row).toMatch(/garage\s+127\.0\.0\.1\s+2 \(2 up\)\s+[\d.]+ GiB\s+[\d.]+ GiB\s+\S+Z \(\d+s ago\)\s+up$/);
  });

  it('stops with the reason when the registry refuses its farm token', async () => {
    const dir = path.join(tmp, 'intruder');
    const err = await startAgent(dir, {
      registry: reg.url,
      farmToken: `${farmToken.split('.')[0]}.not-the-secret`,
      disks: 1,
    }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/agent exited 1: .*BAD_FARM_TOKEN/s);
    expect((await reg.client.listNodes(reg.adminToken)).nodes).toHaveLength(1);
  });

  it('refuses a bad config with the field named', async () => {
    const file = path.join(tmp, 'bad.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ registry: reg.url, farmToken, disks: ['a', 7], listenPort: 1, stateDir: 's' }),
    );
    const err = await exec(process.execPath, [QSTOR, 'agent', '--config', file]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toContain('config.disks[1]: must be a non-empty string');
    fs.writeFileSync(
      file,
      JSON.stringify({ registry: reg.url, farmToken, disks: ['a'], listenPort: 1, stateDir: 's', heartbeat: 3 }),
    );
    expect(
      (
        (await exec(process.execPath, [QSTOR, 'agent', '--config', file]).catch((e: { stderr: string }) => e)) as {
          stderr: string;
        }
      ).stderr,
    ).toContain('config.heartbeat: unknown field');
    // No silent wildcard: the farmer names the address the agent API listens on.
    fs.writeFileSync(
      file,
      JSON.stringify({ registry: reg.url, farmToken, disks: ['a'], listenPort: 1, stateDir: 's' }),
    );
    expect(
      (
        (await exec(process.execPath, [QSTOR, 'agent', '--config', file]).catch((e: { stderr: string }) => e)) as {
          stderr: string;
        }
      ).stderr,
    ).toContain('config.listenHost: name the address the agent API listens on');
    fs.writeFileSync(
      file,
      JSON.stringify({
        registry: reg.url,
        farmToken,
        disks: ['a'],
        listenHost: '127.0.0.1',
        listenPort: 1,
        stateDir: 's',
        stores: [{ key: 'abc', rights: ['storage'] }],
      }),
    );
    expect(
      (
        (await exec(process.execPath, [QSTOR, 'agent', '--config', file]).catch((e: { stderr: string }) => e)) as {
          stderr: string;
        }
      ).stderr,
    ).toContain('config.stores[0].key: must be an ed25519 public key');
  });
});
