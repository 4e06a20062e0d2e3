import { MAX_KEY_LENGTH } from '../engine/format.js';
import type { Namespace } from '../engine/namespace.js';
import { CommandError, invalid } from './command-error.js';
import type { CommandContext } from './context.js';

/** 0-db's argument checks, with its replies. */
export function expectArgs(ctx: CommandContext, count: number, allowEmpty = false): void {
  if (ctx.args.length !== count) throw invalid('Unexpected arguments');
  if (!allowEmpty && ctx.args.some((a) => a.length === 0)) throw invalid('Invalid argument');
}

export function requireAdmin(ctx: CommandContext): void {
  if (!ctx.client.admin) {
    ctx.server.stats.commandsUnauthorized++;
    throw new CommandError('PERMISSION', 'Permission denied');
  }
}

export function readKey(ctx: CommandContext, index = 1): Buffer {
  const key = ctx.args[index]!;
  if (key.length > MAX_KEY_LENGTH) throw new CommandError('INVALID_KEY', 'Invalid key');
  return key;
}

export const NAMESPACE_MAX_LENGTH = 128;

export function namespaceName(ctx: CommandContext, index = 1): string {
  const arg = ctx.args[index]!;
  if (arg.length > NAMESPACE_MAX_LENGTH) throw invalid('Namespace too long');
  const name = arg.toString();
  // Names are directory names: two different byte strings must never decode to one name.
  if (!Buffer.from(name).equals(arg)) throw invalid('This name is not allowed');
  return name;
}

/** The namespace the client selected; the caller already checked it still exists. */
export function current(ctx: CommandContext): Namespace {
  return ctx.server.engine.get(ctx.client.namespace!)!;
}

/** Parses a decimal timestamp argument as 0-db's atoll does (garbage reads as 0). */
export function parseTimestamp(arg: Buffer): number {
  const n = Number.parseInt(arg.toString(), 10);
  return Number.isFinite(n) && n > 0 ? n >>> 0 : 0;
}

export function assertClientWritable(ctx: CommandContext): void {
  if (!ctx.client.writable) throw new CommandError('READ_ONLY', 'Namespace is in read-only mode');
}
