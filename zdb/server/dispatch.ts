import type { CommandSpec } from './context.js';
import { authCommands } from './commands/auth.js';
import { compactCommands } from './commands/compact.js';
import { datasetCommands } from './commands/dataset.js';
import { getCommands } from './commands/get.js';
import { historyCommands } from './commands/history.js';
import { namespaceCommands } from './commands/namespace.js';
import { scanCommands } from './commands/scan.js';
import { setCommands } from './commands/set.js';
import { systemCommands } from './commands/system.js';
import { waitCommands } from './commands/wait.js';

/**
 * The command table. Names match exactly (case-insensitive): 0-db's prefix matching,
 * where `G key` runs GET, is a bug we do not copy.
 */
const table = new Map<string, CommandSpec>();
for (const spec of [
  ...systemCommands,
  ...authCommands,
  ...getCommands,
  ...setCommands,
  ...datasetCommands,
  ...scanCommands,
  ...historyCommands,
  ...namespaceCommands,
  ...compactCommands,
  ...waitCommands((name) => table.has(name)),
]) {
  table.set(spec.name, spec);
}

export function lookupCommand(name: Buffer): CommandSpec | undefined {
  if (name.length > 16) return undefined;
  return table.get(name.toString('latin1').toUpperCase());
}
