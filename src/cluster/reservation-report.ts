import fs from 'node:fs';
import path from 'node:path';
import type { ReservationFailure } from './discovery.js';

/**
 * The failed namespace reservations of the gateway that reserves, kept in its data directory
 * (the failures live in that process: `qstor admin status` reads them here) and told on its
 * stdout, one line each, when they happen.
 */
export const RESERVATION_FAILURES_FILE = 'reservation-failures.json';

export interface ReservationReport {
  /** When the gateway wrote the file (Unix ms). */
  written: number;
  failures: ReservationFailure[];
}

/** Replaces the file at once (written aside, then renamed): a reader never sees half of it. */
export function writeReservationFailures(dir: string, failures: ReservationFailure[], now = Date.now()): void {
  const file = path.join(dir, RESERVATION_FAILURES_FILE);
  const report: ReservationReport = { written: now, failures };
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(report)}\n`, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

/** The last report of the gateway on `dir`, or null when it never had a registry. */
export function readReservationFailures(dir: string): ReservationReport | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, RESERVATION_FAILURES_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return JSON.parse(text) as ReservationReport;
}

/** One line for an operator: the node and its zdb, why, and what to do about it. */
export function failureLine(f: ReservationFailure): string {
  return `namespace reservation failed on node ${f.node} (zdb ${f.backend}, farm ${f.farm}): ${f.reason}. Fix: ${fixFor(f.reason)} (tried again every 2 s)`;
}

function fixFor(reason: string): string {
  if (/bytes can be reserved/.test(reason))
    return 'free space on that disk, or lower registry.namespaceBytes in the gateway config';
  if (/right on this node|grant refused/.test(reason))
    return "the node's farmer admits this store (qstor admin farm admit --store KEY --rights storage)";
  return "check that the node's agent runs and that this gateway reaches its address";
}
