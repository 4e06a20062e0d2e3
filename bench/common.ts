import { execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';

/** What several benchmarks share: test data, timed samples, medians. */

/** Text-like bytes: words and numbers from a seeded generator (about 3:1 under zstd -1). */
export function textLike(size: number, seed = 12345): Buffer {
  let s = seed >>> 0 || 1;
  const next = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const vocabulary = Array.from({ length: 500 }, () =>
    Array.from({ length: 2 + next(9) }, () => String.fromCharCode(97 + next(26))).join(''),
  );
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  while (offset < size) {
    const token = next(8) === 0 ? `${next(100000)}, ` : `${vocabulary[next(vocabulary.length)]} `;
    offset += out.write(next(12) === 0 ? token + '\n' : token, offset);
  }
  return out;
}

/** MB/s of one sample: `op` (over `bytes`) repeated for at least `minMs`. */
export async function throughputSample(op: () => unknown, bytes: number, minMs: number): Promise<number> {
  const start = performance.now();
  let runs = 0;
  let elapsed = 0;
  do {
    await op();
    runs++;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  return (runs * bytes) / (elapsed * 1000);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The first of `count` consecutive free loopback ports (for local backends and a gateway), below
 * Linux's ephemeral range (32768+), where an outgoing connection could take one before we bind it.
 */
export async function freePorts(count: number): Promise<number> {
  const free = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * (12_000 - count));
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await free(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** A number with thousands separators and `digits` decimals. */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A table: the first column left-aligned, the others right-aligned. */
export function printTable(header: string[], lines: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  for (const line of [header, ...lines])
    console.log(line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
}

/** The kernel's clock ticks per second, the unit of /proc's CPU times. */
export const CLK_TCK = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime+stime of a process so far (every thread), seconds, from /proc/<pid>/stat; null once it is gone. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the comm field: state is f[0], utime (field 14 of stat) f[11], stime f[12].
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

/** The whole machine from /proc/stat: busy and iowait seconds (summed over cores). */
export function machineCpu(): { busy: number; iowait: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return { busy: (user + nice + system + irq + softirq + steal) / CLK_TCK, iowait: iowait / CLK_TCK };
}

/** Resolves once a `qstor start` child prints that it is ready; rejects if it exits first or takes over 60 s. */
export function startReady(proc: ChildProcess): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`qstor start did not get ready in 60 s:\n${text}`)), 60_000);
    proc.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('Ctrl-C stops everything')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`qstor start exited (${code ?? sig}) before it was ready:\n${text}`));
    });
  });
}
