import { buildProgram } from './program.js';

// A refusal (CliError and the other typed errors) is one line and exit 1; commander reports its
// own (an unknown option, a missing argument) the same way, with the command's usage.
buildProgram()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    process.stderr.write(`qstor: ${(e as Error).message}\n`);
    process.exit(1);
  });
