import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataPathEnv, MALLOC_THRESHOLDS } from '../src/util/data-path-env.js';
import { GATEWAY_NODE_FLAGS } from '../src/util/programs.js';
import { processesUsing, startQstor, stopAll } from './helpers/qstor-process.js';
import { portBlock } from './helpers/port-block.js';

function environOf(pid: number): Map<string, string> {
  const text = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
  return new Map(
    text
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

describe('the processes that move data start with the malloc thresholds', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-env-'));

  afterAll(async () => {
    await stopAll();
    for (const pid of processesUsing(root)) process.kill(pid, 'SIGKILL');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('a value already in the environment is kept', () => {
    const before = process.env['MALLOC_MMAP_THRESHOLD_'];
    process.env['MALLOC_MMAP_THRESHOLD_'] = '1048576';
    try {
      expect(dataPathEnv()['MALLOC_MMAP_THRESHOLD_']).toBe('1048576');
      expect(dataPathEnv()['MALLOC_TRIM_THRESHOLD_']).toBe(MALLOC_THRESHOLDS.MALLOC_TRIM_THRESHOLD_);
    } finally {
      if (before === undefined) delete process.env['MALLOC_MMAP_THRESHOLD_'];
      else process.env['MALLOC_MMAP_THRESHOLD_'] = before;
    }
  });

  it.runIf(process.platform === 'linux')(
    "qstor start's gateway and its six zdb have them, the gateway its Node flags",
    async () => {
      const base = await portBlock();
      const data = path.join(root, 'store');
      await startQstor(['start', '--data', data, '--backend-port', String(base), '--port', String(base + 10)]);
      const pids = processesUsing(data).filter((pid) =>
        /gateway\/main\.js|zdb\/main\.js/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')),
      );
      expect(pids).toHaveLength(7);
      for (const pid of pids) {
        const env = environOf(pid);
        for (const [name, value] of Object.entries(MALLOC_THRESHOLDS)) expect(env.get(name)).toBe(value);
        expect(env.get('MALLOC_ARENA_MAX')).toBe('2');
      }
      const gateway = pids
        .map((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'))
        .find((argv) => argv.some((a) => a.endsWith('gateway/main.js')))!;
      const main = gateway.findIndex((a) => a.endsWith('gateway/main.js'));
      expect(gateway.slice(1, main)).toEqual(expect.arrayContaining(GATEWAY_NODE_FLAGS));
    },
    120_000,
  );
});
