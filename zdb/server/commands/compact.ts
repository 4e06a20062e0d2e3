import { integer, type Chunks } from '../../../src/resp/encode.js';
import type { CommandContext, CommandSpec } from '../context.js';
import { current, requireAdmin } from '../validate.js';

/** COMPACT: reclaim the space of dead entries in the selected namespace now; replies bytes freed. */
async function compact(ctx: CommandContext): Promise<Chunks> {
  requireAdmin(ctx);
  const freed = await ctx.server.compact(current(ctx));
  return [integer(freed)];
}

export const compactCommands: CommandSpec[] = [{ name: 'COMPACT', handler: compact }];
