import { arrayHeader, bulk, integer, type Chunks } from '../../../src/resp/encode.js';
import type { ScanDirection } from '../../engine/index-walk.js';
import { CommandError } from '../command-error.js';
import type { CommandContext, CommandSpec } from '../context.js';
import { current, expectArgs } from '../validate.js';

/** A batch is cut by time, as in 0-db: about 2 ms of walking. */
const TIMESLICE_MS = 2;

function walk(ctx: CommandContext, direction: ScanDirection): Chunks {
  const batch = current(ctx).scan(direction, ctx.args[1] ?? null, TIMESLICE_MS);
  const out: Chunks = [arrayHeader(2), ...bulk(batch.cursor), arrayHeader(batch.entries.length)];
  for (const e of batch.entries) {
    out.push(arrayHeader(3));
    bulk(e.key, out);
    out.push(integer(e.length), integer(e.timestamp));
  }
  return out;
}

function keycur(ctx: CommandContext): Chunks {
  expectArgs(ctx, 2);
  const cursor = current(ctx).keyCursor(ctx.args[1]!);
  if (!cursor) throw new CommandError('NOT_FOUND', 'Key not found');
  return bulk(cursor);
}

export const scanCommands: CommandSpec[] = [
  { name: 'SCAN', handler: (ctx) => walk(ctx, 'forward') },
  { name: 'RSCAN', handler: (ctx) => walk(ctx, 'backward') },
  { name: 'KEYCUR', handler: keycur },
];
