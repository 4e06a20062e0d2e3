import fs from 'node:fs/promises';
import os from 'node:os';
import type { Capacity, DiskReport, ZdbReport } from './report.js';
import type { SupervisedZdb } from './zdb-supervisor.js';

export interface Disk {
  name: string;
  path: string;
  zdb: SupervisedZdb;
}

/** Cores, memory, and each disk's space (statfs) and zdb (NSINFO of its namespaces). */
export async function measureCapacity(disks: readonly Disk[]): Promise<Capacity> {
  return {
    cores: os.cpus().length,
    memoryBytes: os.totalmem(),
    disks: await Promise.all(disks.map(measureDisk)),
  };
}

/** Total and free bytes of the filesystem under `dir` (free as an unprivileged writer sees it). */
export async function diskSpace(dir: string): Promise<{ totalBytes: number; freeBytes: number }> {
  const s = await fs.statfs(dir);
  return { totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
}

async function measureDisk(d: Disk): Promise<DiskReport> {
  const [space, zdb] = await Promise.all([diskSpace(d.path), zdbReport(d.zdb)]);
  return { name: d.name, ...space, zdb };
}

async function zdbReport(zdb: SupervisedZdb): Promise<ZdbReport> {
  try {
    const names = (await zdb.admin.nslist()).filter((n) => n !== 'default');
    const infos = await Promise.all(names.map((n) => zdb.admin.nsinfo(n)));
    return {
      port: zdb.port,
      state: 'up',
      namespaces: infos.length,
      usedBytes: infos.reduce((sum, i) => sum + i.dataSizeBytes, 0),
    };
  } catch {
    // Restarting, or dead past its backoff: the registry hears it is down until it answers again.
    return { port: zdb.port, state: 'down', namespaces: 0, usedBytes: 0 };
  }
}
