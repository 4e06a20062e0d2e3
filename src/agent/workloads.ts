import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import type { Logger } from 'pino';
import { QSTOR_MAIN } from '../util/programs.js';
import { AgentError } from './errors.js';
import { fields, list, text } from '../util/schema.js';
import { check } from './validate.js';

/** Output kept per stream: the tail, so a chatty workload cannot grow the agent. */
const OUTPUT_LIMIT = 64 * 1024;
/** Who a workload runs as: nobody, with no capabilities and no-new-privs (`qstor flist run --user`). */
export const WORKLOAD_USER = '65534:65534';

export interface WorkloadRequest {
  /** Path of an .fl file on this node. */
  flist: string;
  command: string[];
  /** Block stores of the flist (`--store`), when not the ones it names. */
  stores?: string[];
}

export interface WorkloadStatus {
  id: string;
  state: 'running' | 'exited' | 'stopped';
  /** The command's exit code (128 + signal when killed); null while running. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  startedAt: number;
  endedAt: number | null;
}

const workloadRequest = fields({
  flist: text(),
  command: list(text(), 256).min(1, 'needs the program to run'),
  stores: list(text(), 16).optional(),
});

export function parseWorkloadRequest(v: unknown): WorkloadRequest {
  return check(workloadRequest, v, 'body');
}

interface Workload {
  owner: string;
  child: ChildProcess;
  status: WorkloadStatus;
  exited: Promise<void>;
}

/**
 * Compute, thinly: a command from an flist run by `qstor flist run` (read-only FUSE lower,
 * tmpfs upper, its own mount and pid namespaces, never the host's) as a child process of the
 * agent, its state, exit code and output kept in memory for the store that started it. The
 * command runs as WORKLOAD_USER with no capabilities: only the mounting needs root, and a
 * store's compute right is a right to run a program, not to administer the node.
 */
export class Workloads {
  private readonly all = new Map<string, Workload>();

  constructor(private readonly log: Logger) {}

  start(owner: string, req: WorkloadRequest): WorkloadStatus {
    if (!fs.existsSync(req.flist)) throw new AgentError('NOT_FOUND', `no flist ${req.flist} on this node`);
    const id = crypto.randomBytes(8).toString('hex');
    const args = [
      QSTOR_MAIN,
      'flist',
      'run',
      req.flist,
      ...(req.stores ?? []).flatMap((s) => ['--store', s]),
      '--user',
      WORKLOAD_USER,
      '--',
      ...req.command,
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const status: WorkloadStatus = {
      id,
      state: 'running',
      exitCode: null,
      stdout: '',
      stderr: '',
      startedAt: Date.now(),
      endedAt: null,
    };
    const keep = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      status[stream] = (status[stream] + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
    };
    child.stdout!.on('data', keep('stdout'));
    child.stderr!.on('data', keep('stderr'));
    const exited = new Promise<void>((resolve) => {
      child.once('close', (code, signal) => {
        status.exitCode = code ?? 128 + (signal ? os.constants.signals[signal] : 0);
        if (status.state === 'running') status.state = 'exited';
        status.endedAt = Date.now();
        this.log.info({ workload: id, state: status.state, exitCode: status.exitCode }, 'workload ended');
        resolve();
      });
    });
    this.all.set(id, { owner, child, status, exited });
    this.log.info({ workload: id, owner, flist: req.flist }, 'workload started');
    return { ...status };
  }

  get(owner: string, id: string): WorkloadStatus {
    return { ...this.owned(owner, id).status };
  }

  /**
   * Stops a running workload and waits until `qstor flist run` has unmounted and exited.
   * The command is pid 1 of its own pid namespace, where only SIGKILL reaches it from outside;
   * killing it ends the namespace, and flist run cleans up as after any exit.
   */
  async stop(owner: string, id: string): Promise<WorkloadStatus> {
    const w = this.owned(owner, id);
    if (w.status.state === 'running') {
      w.status.state = 'stopped';
      const inits = childrenOf(w.child.pid).flatMap(childrenOf);
      if (inits.length > 0) for (const pid of inits) process.kill(pid, 'SIGKILL');
      else w.child.kill('SIGTERM');
      const force = setTimeout(() => w.child.kill('SIGKILL'), 10_000);
      await w.exited;
      clearTimeout(force);
    }
    return { ...w.status };
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.all.values()].map((w) => this.stop(w.owner, w.status.id)));
  }

  private owned(owner: string, id: string): Workload {
    const w = this.all.get(id);
    if (!w) throw new AgentError('NOT_FOUND', `no workload ${id}`);
    if (w.owner !== owner) throw new AgentError('NOT_OWNER', `workload ${id} belongs to another store`);
    return w;
  }
}

function childrenOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
