/**
 * `qstor` commands as child processes for CLI tests: `qstor start` up to its banner, any command
 * to its end, and what a failed start may have left running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const QSTOR = path.resolve('bin/qstor.js');

/** Every child still running, so that a failing test leaves nothing behind (stopAll). */
const children = new Set<ChildProcess>();

export interface RunningQstor {
  child: ChildProcess;
  /** stdout and stderr up to the banner. */
  output: string;
}

/** What a command did: its exit code, or 'served' when it came up (it was then stopped). */
export interface QstorRun {
  code: number | 'served';
  output: string;
}

function spawnQstor(args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  // `qstor start` serves the console on 9001 by default: tests running side by side would fight over it.
  const noConsole = args[0] === 'start' && !args.includes('--admin-port') ? ['--admin-port', '0'] : [];
  const child = spawn(process.execPath, [QSTOR, ...args, ...noConsole], { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * Starts a long-running command (`start ...`, `gateway ...`) in `env` (default: this process's);
 * resolves once a line matches `ready`.
 */
export function startQstor(
  args: string[],
  ready = /Ctrl-C stops everything|S3 on port/,
  env?: NodeJS.ProcessEnv,
): Promise<RunningQstor> {
  const child = spawnQstor(args, env);
  return new Promise((resolve, reject) => {
    let out = '';
    const seen = (d: Buffer): void => {
      out += d.toString();
      if (ready.test(out)) resolve({ child, output: out });
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => reject(new Error(`qstor ${args[0]} exited ${code}: ${out}`)));
  });
}

/**
 * Runs a command expected to fail; should it come up instead (a line matches `ready`), it is
 * stopped and the run says 'served'.
 */
export async function runQstor(args: string[], ready = /Ctrl-C stops everything|S3 on port/): Promise<QstorRun> {
  try {
    const up = await startQstor(args, ready);
    await stopQstor(up.child);
    return { code: 'served', output: up.output };
  } catch (e) {
    const m = /^qstor \S+ exited (\S+): ([\s\S]*)$/.exec((e as Error).message);
    if (!m) throw e;
    return { code: Number(m[1]), output: m[2]! };
  }
}

export function stopQstor(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map(stopQstor));
}

/** Pids of the processes whose command line names `dir` (zdbs and gateways of a store there). */
export function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes(dir)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
