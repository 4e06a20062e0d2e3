import { arrayHeader, bulk, type Chunks } from '../../../src/resp/encode.js';
import { invalid } from '../command-error.js';
import type { CommandContext, CommandSpec } from '../context.js';
import { current } from '../validate.js';

/** HISTORY key [cursor]: [cursor of the previous version or nil, timestamp, value]. */
function history(ctx: CommandContext): Chunks {
  if (ctx.args.length !== 2 && ctx.args.length !== 3) throw invalid('Invalid arguments');
  const v = current(ctx).history(ctx.args[1]!, ctx.args[2]);
  return [arrayHeader(3), ...bulk(v.previous), ...bulk(String(v.timestamp)), ...bulk(v.value)];
}

export const historyCommands: CommandSpec[] = [{ name: 'HISTORY', handler: history }];
