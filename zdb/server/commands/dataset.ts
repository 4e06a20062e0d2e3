import { integer, NIL, OK, type Chunks } from '../../../src/resp/encode.js';
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
function keyQuery(answer: (ctx: CommandContext, key: Buffer) => Chunks): (ctx: CommandContext) => Chunks {
  return (ctx) => {
    expectArgs(ctx, 2);
    const key = readKey(ctx);
    current(ctx).assertReadable();
    return answer(ctx, key);
  };
}

const exists = keyQuery((ctx, key) => [integer(current(ctx).find(key) >= 0 ? 1 : 0)]);

const check = keyQuery((ctx, key) => {
  const ok = current(ctx).check(key);
  return ok === null ? [NIL] : [integer(ok ? 1 : 0)];
});

const length = keyQuery((ctx, key) => {
  const ns = current(ctx);
  const slot = ns.find(key);
  return slot < 0 ? [NIL] : [integer(ns.table.length[slot]!)];
});

const keytime = keyQuery((ctx, key) => {
  const ns = current(ctx);
  const slot = ns.find(key);
  return slot < 0 ? [NIL] : [integer(ns.table.timestamp[slot]!)];
});

export const datasetCommands: CommandSpec[] = [
  { name: 'DEL', handler: del },
  { name: 'EXISTS', handler: exists },
  { name: 'CHECK', handler: check },
  { name: 'LENGTH', handler: length },
  { name: 'KEYTIME', handler: keytime },
];
