import { arrayHeader, bulk, type Chunks } from '../../../src/resp/encode.js';
import { MAX_KEY_LENGTH } from '../../engine/format.js';
import { CommandError, invalid } from '../command-error.js';
import type { CommandContext, CommandSpec } from '../context.js';
import { current, expectArgs, readKey } from '../validate.js';

function get(ctx: CommandContext): Chunks {
  expectArgs(ctx, 2);
  return bulk(current(ctx).get(readKey(ctx)));
}

function mget(ctx: CommandContext): Chunks {
  if (ctx.args.length < 2) throw invalid('Invalid arguments');
  if (ctx.args.some((a, i) => i > 0 && a.length > MAX_KEY_LENGTH)) throw new CommandError('INVALID_KEY', 'Invalid key');
  const ns = current(ctx);
  ns.assertReadable();
  const out: Chunks = [arrayHeader(ctx.args.length - 1)];
  for (let i = 1; i < ctx.args.length; i++) bulk(ns.get(ctx.args[i]!), out);
  return out;
}

export const getCommands: CommandSpec[] = [
  { name: 'GET', handler: get },
  { name: 'MGET', handler: mget },
];
