import { spawn, type ChildProcess } from 'node:child_process';
import { dataPathEnv } from '../util/data-path-env.js';
import { GATEWAY_MAIN, GATEWAY_NODE_FLAGS } from '../util/programs.js';

/**
 * The gateway daemon as both launchers (`qstor start`, `qstor gateway`) start it: its Node flags
 * ahead of this process's own, the data path's environment, stdout piped for its status lines,
 * and the data directory's lock descriptor inherited as fd 3 (the daemon holds it too).
 */
export function spawnGateway(args: string[], lockFd: number): ChildProcess {
  return spawn(process.execPath, [...GATEWAY_NODE_FLAGS, ...process.execArgv, GATEWAY_MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'inherit', lockFd],
    env: dataPathEnv(),
  });
}
