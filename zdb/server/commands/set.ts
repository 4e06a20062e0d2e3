import { bulk, NIL, type Chunks } from '../../../src/resp/encode.js';
import { argumentPieces } from '../../../src/resp/request-parser.js';
import { Errors } from '../../engine/errors.js';
import { MAX_KEY_LENGTH } from '../../engine/format.js';
import type { CommandContext, CommandSpec } from '../context.js';
import { assertClientWritable, current, expectArgs, parseTimestamp, requireAdmin } from '../validate.js';

/** SET key value [timestamp]: replies the key (the new id in seq mode), nil when unchanged. */
function set(ctx: CommandContext): Chunks {
  if (ctx.args.length === 4) requireAdmin(ctx);
  else expectArgs(ctx, 3, true);
  const key = ctx.args[1]!;
  if (key.length > MAX_KEY_LENGTH) throw Errors.keyTooLarge();
  assertClientWritable(ctx);
  const timestamp = ctx.args.length === 4 ? parseTimestamp(ctx.args[3]!) : undefined;
  // A large value stays in the pieces it arrived in: no copy before it is written.
  const result = current(ctx).set(key, argumentPieces(ctx.args, 2), timestamp);
  if (!result.stored) return [NIL];
  ctx.durable = true;
  return bulk(result.key);
}

export const setCommands: CommandSpec[] = [{ name: 'SET', handler: set }];
