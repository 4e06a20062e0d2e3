/**
 * A block of consecutive ports for a test that starts `qstor start` on fixed ports (and restarts it
 * on the same ones). Two things made random bases collide: a base above 32768 falls in Linux's
 * ephemeral range, where any outgoing connection may hold a port; and test files run in parallel
 * processes that could draw overlapping bases. So blocks lie below the ephemeral range, each is
 * claimed by a file created exclusively (naming the claiming pid, so a dead test's claim is taken
 * back), and every port is checked free before the block is handed out.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Ports per block: every test here uses fewer than 60 from its base. */
const WIDTH = 100;
const FIRST = 10_000;
const SLOTS = Math.floor((32_000 - FIRST) / WIDTH);
const CLAIMS = path.join(os.tmpdir(), 'qstor-test-ports');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claims a slot's file for this process; takes it back from a process that is gone. */
function claim(slot: number): boolean {
  const file = path.join(CLAIMS, String(slot));
  try {
    fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const owner = Number(fs.readFileSync(file, 'utf8'));
  if (owner && alive(owner)) return false;
  fs.rmSync(file, { force: true });
  try {
    fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    return false; // another process took it back first
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const mine: number[] = [];
process.once('exit', () => {
  for (const slot of mine) fs.rmSync(path.join(CLAIMS, String(slot)), { force: true });
});

/** The first port of a block of `WIDTH` ports claimed by this process until it exits. */
export async function portBlock(): Promise<number> {
  fs.mkdirSync(CLAIMS, { recursive: true });
  for (let attempt = 0; attempt < SLOTS * 2; attempt++) {
    const slot = Math.floor(Math.random() * SLOTS);
    if (!claim(slot)) continue;
    const base = FIRST + slot * WIDTH;
    const checks = await Promise.all(Array.from({ length: WIDTH }, (_, i) => portFree(base + i)));
    mine.push(slot);
    if (checks.every(Boolean)) return base;
  }
  throw new Error('no free block of test ports below 32000');
}
