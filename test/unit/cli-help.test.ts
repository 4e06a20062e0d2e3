import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';

/** `qstor --help` (and each command's) as commander writes it from the option specs. */
function help(...path: string[]): string {
  let out = '';
  const program = buildProgram();
  let c = program;
  for (const name of path) c = c.commands.find((s) => s.name() === name)!;
  for (const cmd of [program, c]) cmd.configureOutput({ writeOut: (s) => (out += s) });
  c.outputHelp();
  return out;
}

describe('qstor help', () => {
  it("is README.md's command section, verbatim", () => {
    const readme = fs.readFileSync('README.md', 'utf8');
    const block = /<!-- qstor --help -->\n```\n([\s\S]*?)```\n<!-- end -->/.exec(readme);
    expect(block, 'README.md: a ```block between <!-- qstor --help --> and <!-- end -->').not.toBeNull();
    expect(block![1]).toBe(help());
  });

  it('lists every command, and each command its options with their defaults', () => {
    const all = help();
    for (const line of [
      'qstor gateway --config <file> [--log-level <level>]',
      'qstor admin status [--json] [--data <dir>] [--config <file>]',
      'qstor flist run <flist> [--user <uid:gid>] [--store <url>] [--cache <dir>] -- <cmd> [args...]',
      'qstor zdb [zdb flags...]',
    ]) {
      expect(all).toContain(line);
    }
    const start = help('start');
    expect(start).toMatch(
      /--admin-port <n> +\/metrics, \/health and the console on 127\.0\.0\.1 \(0: off\) \(default: 9001\)/,
    );
    expect(start).toMatch(/--backend-port <n>/);
    expect(start).toContain('(default: "./qstor-data")');
    expect(help('admin')).toContain('repair [options]');
    // The log level: a default on start; on gateway none, so that the config file's applies.
    expect(start).toMatch(
      /--log-level <level> +the gateway log's level \(choices: "fatal",\s+"error",\s+"warn",\s+"info",\s+"debug",\s+"silent",\s+default: "info"\)/,
    );
    expect(help('gateway')).toMatch(
      /--log-level <level> +the gateway log's level \(default: the config file's logLevel, else info\)/,
    );
  });
});
