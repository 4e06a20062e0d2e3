// Workloads on a real agent: a command from a busybox flist run under `qstor flist run`
// (FUSE, overlay, own namespaces: needs root), its output and exit code reported to the store
// that started it and to no other, and a long-running one stopped with nothing left mounted.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../src/agent/agent-client.js';
import { AgentError } from '../src/agent/errors.js';
import { identityFromSeed } from '../src/agent/identity.js';
import { Signer } from '../src/agent/signed.js';
import type { WorkloadStatus } from '../src/agent/workloads.js';
import { startAgent, startRegistry, until, type AgentProcess, type RegistryProcess } from './helpers/agent-harness.js';
import { qstor } from './helpers/flist-tree.js';

const canRun = process.getuid?.() === 0 && fs.existsSync('/dev/fuse') && fs.existsSync('/bin/busybox');

let tmp: string;
let fl: string;
let reg: RegistryProcess;
let agent: AgentProcess;
let a: AgentClient;
let b: AgentClient;

const storeA = new Signer(identityFromSeed(crypto.randomBytes(32)));
const storeB = new Signer(identityFromSeed(crypto.randomBytes(32)));
const client = (signer: Signer) => new AgentClient({ url: agent.url, nodeId: agent.nodeId, signer });

async function finished(c: AgentClient, id: string): Promise<WorkloadStatus> {
  return until<WorkloadStatus>('the workload to end', async () => {
    const s = await c.workload(id);
    return s.state === 'running' ? undefined : s;
  });
}
const runMounts = () =>
  fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.includes('/qstor-run-'));

describe.skipIf(!canRun)('workloads', () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-wl-'));
    const root = path.join(tmp, 'rootfs');
    fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
    fs.copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
    fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
    for (const applet of ['sh', 'echo', 'sleep', 'cat', 'id', 'grep', 'readlink'])
      fs.symlinkSync('busybox', path.join(root, 'bin', applet));
    fl = path.join(tmp, 'busybox.fl');
    await qstor(['flist', 'create', '--from', root, '--store', `dir://${tmp}/store`, '-o', fl]);
    reg = await startRegistry(path.join(tmp, 'reg'));
    const { farmerToken } = await reg.client.createFarm(reg.adminToken, 'farm');
    agent = await startAgent(path.join(tmp, 'node'), {
      registry: reg.url,
      farmToken: farmerToken,
      disks: 1,
      stores: { [storeA.id]: ['compute'], [storeB.id]: ['compute'] },
    });
    a = client(storeA);
    b = client(storeB);
  });
  afterAll(async () => {
    await agent?.stop();
    await reg?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('runs a command from a busybox flist and reports its output and exit code', async () => {
    const started = await a.startWorkload({
      flist: fl,
      command: ['/bin/sh', '-c', 'echo hello from $(cat /proc/1/comm); echo oops >&2; exit 3'],
    });
    expect(started.state).toBe('running');
    const done = await finished(a, started.id);
    expect(done).toMatchObject({ state: 'exited', exitCode: 3, stdout: 'hello from sh\n', stderr: 'oops\n' });
    const refused = await b.workload(started.id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AgentError);
    expect((refused as AgentError).code).toBe('NOT_OWNER');
    expect(JSON.stringify(refused)).not.toContain('hello');
  });

  it('runs as nobody with no capabilities and no-new-privs, in mount and pid namespaces of its own', async () => {
    const w = await a.startWorkload({
      flist: fl,
      command: [
        '/bin/sh',
        '-c',
        'id; grep -E "^(Cap|NoNewPrivs)" /proc/self/status; readlink /proc/self/ns/mnt; readlink /proc/self/ns/pid; echo $$',
      ],
    });
    const done = await finished(a, w.id);
    expect(done.exitCode).toBe(0);
    const lines = done.stdout.trim().split('\n');
    expect(lines[0]).toBe('uid=65534 gid=65534');
    const status = Object.fromEntries(lines.slice(1, 7).map((l) => l.split(/:\s+/) as [string, string]));
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb']) expect(status[set]).toBe('0000000000000000');
    expect(status['NoNewPrivs']).toBe('1');
    // What is left in the bounding set is what chroot needed to switch to nobody; no CAP_SYS_ADMIN (bit 21) and the like.
    expect(BigInt(`0x${status['CapBnd']}`) & ~((1n << 6n) | (1n << 7n) | (1n << 18n))).toBe(0n);
    // Never the host's mount or pid namespace; pid 1 of its own.
    expect(lines[7]).toMatch(/^mnt:\[\d+\]$/);
    expect(lines[7]).not.toBe(fs.readlinkSync('/proc/self/ns/mnt'));
    expect(lines[8]).toMatch(/^pid:\[\d+\]$/);
    expect(lines[8]).not.toBe(fs.readlinkSync('/proc/self/ns/pid'));
    expect(lines[9]).toBe('1');
  });

  it('stops a running workload, leaving nothing mounted', async () => {
    // Other suites may run flists meanwhile: only the mounts that came with this workload count.
    const before = new Set(runMounts());
    const w = await a.startWorkload({ flist: fl, command: ['/bin/sh', '-c', 'echo up; sleep 120'] });
    await until('the workload to print', async () => ((await a.workload(w.id)).stdout === 'up\n' ? true : undefined));
    const ours = runMounts().filter((m) => !before.has(m));
    expect(ours.length).toBeGreaterThan(0);
    expect(await b.stopWorkload(w.id).catch((e: AgentError) => e.code)).toBe('NOT_OWNER');
    const stopped = await a.stopWorkload(w.id);
    expect(stopped.state).toBe('stopped');
    expect(stopped.endedAt).not.toBeNull();
    expect(runMounts().filter((m) => ours.includes(m))).toEqual([]);
    expect(
      await a
        .startWorkload({ flist: path.join(tmp, 'missing.fl'), command: ['/bin/sh'] })
        .catch((e: AgentError) => e.code),
    ).toBe('NOT_FOUND');
  });
});
