import { invalid } from '../command-error.js';
import type { CommandContext, CommandSpec, Reply } from '../context.js';

const DEFAULT_TIMEOUT_MS = 5000;
const MAX_TIMEOUT_MS = 30 * 60 * 1000;

/** WAIT command|* [timeout ms]: blocks until another client runs that command on this namespace. */
function wait(ctx: CommandContext, known: (name: string) => boolean): Reply {
  if (ctx.args.length !== 2 && ctx.args.length !== 3) throw invalid('Invalid arguments');
  const command = ctx.args[1]!.toString().toUpperCase();
  if (command !== '*' && !known(command)) throw invalid('Unknown command to watch');
  let timeout = DEFAULT_TIMEOUT_MS;
  if (ctx.args.length === 3) {
    if (ctx.args[2]!.length > 16) throw invalid('Invalid timeout');
    timeout = Number.parseInt(ctx.args[2]!.toString(), 10);
    if (!(timeout >= 100 && timeout <= MAX_TIMEOUT_MS)) throw invalid('Invalid timeout');
  }
  return ctx.server.wait(ctx.client, command, timeout);
}

export function waitCommands(known: (name: string) => boolean): CommandSpec[] {
  return [{ name: 'WAIT', handler: (ctx) => wait(ctx, known) }];
}
