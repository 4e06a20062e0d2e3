import { integer, NIL, OK, type Chunks } from '../../../src/resp/encode.js';
import type { Namespace } from '../../engine/namespace.js';
import type { CommandContext, CommandSpec } from '../context.js';
import { assertClientWritable, current, expectArgs, parseTimestamp, readKey, requireAdmin } from '../validate.js';

function del(ctx: CommandContext): Chunks {
  if (ctx.args.length === 3) requireAdmin(ctx);
  else expectArgs(ctx, 2);
  const key = readKey(ctx);
  assertClientWritable(ctx);
  current(ctx).del(key, ctx.args.length === 3 ? parseTimestamp(ctx.args[2]!) : undefined);
  ctx.durable = true;
  return [OK];
}

/** Shared shape of EXISTS/CHECK/LENGTH/KEYTIME: one key, read-only, nil or a number. */
function keyQuery(answer: (ns: Namespace, key: Buffer) => number | boolean | null): (ctx: CommandContext) => Chunks {
  return (ctx) => {
    expectArgs(ctx, 2);
    const value = answer(current(ctx), readKey(ctx));
    return value === null ? [NIL] : [integer(typeof value === 'boolean' ? Number(value) : value)];
  };
}

export const datasetCommands: CommandSpec[] = [
  { name: 'DEL', handler: del },
  { name: 'EXISTS', handler: keyQuery((ns, key) => ns.exists(key)) },
  { name: 'CHECK', handler: keyQuery((ns, key) => ns.check(key)) },
  { name: 'LENGTH', handler: keyQuery((ns, key) => ns.length(key)) },
  { name: 'KEYTIME', handler: keyQuery((ns, key) => ns.keytime(key)) },
];
