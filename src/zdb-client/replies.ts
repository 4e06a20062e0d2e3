import type { RespValue } from '../resp/reply-parser.js';
import { ZdbError } from './errors.js';

/**
 * Checks of reply shapes. A reply of the wrong type means client and server disagree about
 * the protocol, which must surface as PROTOCOL rather than as a wrong value downstream.
 */
function mismatch(command: string, expected: string, v: RespValue): ZdbError {
  const got = v === null ? 'nil' : Buffer.isBuffer(v) ? 'bulk' : Array.isArray(v) ? 'array' : typeof v;
  return new ZdbError('PROTOCOL', `${command}: expected ${expected}, got ${got}`);
}

export function asOk(command: string, v: RespValue): void {
  if (v !== 'OK') throw mismatch(command, '+OK', v);
}

export function asBulk(command: string, v: RespValue): Buffer {
  if (!Buffer.isBuffer(v)) throw mismatch(command, 'bulk', v);
  return v;
}

export function asBulkOrNil(command: string, v: RespValue): Buffer | null {
  return v === null ? null : asBulk(command, v);
}

export function asInt(command: string, v: RespValue): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw mismatch(command, 'integer', v);
  return v;
}

export function asIntOrNil(command: string, v: RespValue): number | null {
  return v === null ? null : asInt(command, v);
}

export function asArray(command: string, v: RespValue, length?: number): RespValue[] {
  if (!Array.isArray(v)) throw mismatch(command, 'array', v);
  if (length !== undefined && v.length !== length)
    throw new ZdbError('PROTOCOL', `${command}: expected ${length} items, got ${v.length}`);
  return v;
}

/** An integer sent as a bulk string (TIME, HISTORY timestamps). */
export function asBulkInt(command: string, v: RespValue): number {
  const n = Number(asBulk(command, v).toString('latin1'));
  if (!Number.isSafeInteger(n)) throw mismatch(command, 'decimal bulk', v);
  return n;
}
