import type { ImageConfig } from './image.js';

/**
 * The `.startup.toml` rfs puts at the root of an image's flist: the container's command
 * (entrypoint then cmd, `/bin/sh` when neither), its arguments, environment and directory.
 */
export function startupToml(config: ImageConfig): string {
  const entry = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  const name = entry[0] ?? '/bin/sh';
  const args = entry.slice(1);
  const env: Array<[string, string]> = [];
  for (const e of config.Env ?? []) {
    const eq = e.indexOf('=');
    if (eq > 0) env.push([e.slice(0, eq), e.slice(eq + 1)]);
  }
  const dir = config.WorkingDir || '/';
  return [
    '[startup.entry]',
    `name = ${str('core.system')}`,
    '',
    '[startup.entry.args]',
    `args = [${args.map(str).join(', ')}]`,
    `dir = ${str(dir)}`,
    `name = ${str(name)}`,
    '',
    '[startup.entry.args.env]',
    ...env.map(([k, v]) => `${str(k)} = ${str(v)}`),
    '',
  ].join('\n');
}

/** A TOML basic string: every escape JSON writes (backslash, quote, newline, \u with 4 hex digits) is valid TOML. */
function str(s: string): string {
  return JSON.stringify(s);
}
