import { FlistReader } from '../flist/reader.js';
import { CliError } from './errors.js';

/**
 * The store URLs `qstor flist` opens, made usable the way a user writes them:
 * - a secret pasted raw into `s3://KEY:SECRET@host:port/bucket` (a generated one holds `/` and
 *   `+`, which end or change a URL's user part) is percent-encoded here;
 * - an `s3://` store with no secret (an flist keeps none: create strips it) takes the
 *   credentials from the environment, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, as the aws
 *   cli and rclone do; without them, one line says what to pass.
 * A secret is never repeated in a message.
 */

type Env = Record<string, string | undefined>;

const ROUTE = /^([0-9a-f]{2}-[0-9a-f]{2}=)?(s3s?):\/\/(.*)$/i;

/** `--store` values with their credentials settled (none given: undefined). */
export function givenStores(specs: string[] | undefined, env: Env = process.env): string[] | undefined {
  return specs?.length ? specs.map((s) => withCredentials(s, '--store', env)) : undefined;
}

/**
 * What a reading command opens: the `--store` values, else the flist's own routes when one of
 * them is an s3 store that needs the environment's credentials (else undefined: the routes).
 */
export function readingStores(file: string, specs: string[] | undefined, env: Env = process.env): string[] | undefined {
  if (specs?.length) return givenStores(specs, env);
  const reader = new FlistReader(file);
  let routes;
  try {
    routes = reader.routes();
  } finally {
    reader.close();
  }
  if (!routes.some((r) => ROUTE.test(r.url))) return undefined;
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return routes.map((r) => `${hex(r.start)}-${hex(r.end)}=${withCredentials(r.url, `${file}'s store`, env)}`);
}

/** One store spec (`[00-ff=]URL`) with an s3 URL's secret encoded or taken from the environment. */
export function withCredentials(spec: string, where: string, env: Env): string {
  const m = ROUTE.exec(spec);
  if (!m) return spec;
  const [, range = '', scheme, rest] = m as unknown as [string, string | undefined, string, string];
  // The last @: a raw secret may hold any character but that one ends the user part.
  const at = rest.lastIndexOf('@');
  const hostPath = rest.slice(at + 1);
  const userInfo = at < 0 ? '' : rest.slice(0, at);
  const colon = userInfo.indexOf(':');
  let user = colon < 0 ? userInfo : userInfo.slice(0, colon);
  let secret = colon < 0 ? '' : userInfo.slice(colon + 1);
  const shown = `${scheme}://${user ? `${user}${secret ? ':…' : ''}@` : ''}${hostPath}`;
  if (secret === '') {
    const envKey = env.AWS_ACCESS_KEY_ID;
    const envSecret = env.AWS_SECRET_ACCESS_KEY;
    if (!envKey || !envSecret || (user !== '' && decodeURIComponent(user) !== envKey)) {
      const key = user ? decodeURIComponent(user) : 'KEY';
      throw new CliError(
        'MISSING_CREDENTIALS',
        `${where} ${shown} has no secret (flist create keeps none in the flist): export AWS_ACCESS_KEY_ID=${key} AWS_SECRET_ACCESS_KEY=... (the line qstor start printed), or pass --store ${scheme}://${key}:SECRET@${hostPath}`,
      );
    }
    user = encodeURIComponent(envKey);
    secret = encodeURIComponent(envSecret);
  } else if (!secret.includes('%')) {
    // Raw: every character that is not a URL's is encoded (a percent-encoded one is left alone).
    secret = encodeURIComponent(secret);
  }
  const url = `${scheme}://${user}:${secret}@${hostPath}`;
  try {
    new URL(url);
  } catch {
    throw new CliError(
      'INVALID_OPTION',
      `${where} ${shown} is not a URL: write the secret percent-encoded (node -e 'console.log(encodeURIComponent(process.env.AWS_SECRET_ACCESS_KEY))'), or leave it out and export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
    );
  }
  return `${range}${url}`;
}
