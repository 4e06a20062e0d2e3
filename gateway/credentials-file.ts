import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StartupError } from './startup-error.js';

export interface RootCredentials {
  accessKey: string;
  secretKey: string;
  /** 'env': from QSTOR_ROOT_*; 'file': saved earlier; 'created': generated now (print them once). */
  source: 'env' | 'file' | 'created';
}

/**
 * The root credentials of a store: QSTOR_ROOT_ACCESS_KEY / QSTOR_ROOT_SECRET_KEY when set,
 * else the pair saved in DIR/credentials.json (0600), else a new pair, saved there.
 */
export function rootCredentials(dir: string, env: NodeJS.ProcessEnv = process.env): RootCredentials {
  const fromEnv = [env['QSTOR_ROOT_ACCESS_KEY'], env['QSTOR_ROOT_SECRET_KEY']];
  if (fromEnv[0] && fromEnv[1]) return { accessKey: fromEnv[0], secretKey: fromEnv[1], source: 'env' };
  if (fromEnv[0] || fromEnv[1])
    throw new StartupError('ROOT_CREDENTIALS', 'set both QSTOR_ROOT_ACCESS_KEY and QSTOR_ROOT_SECRET_KEY, or neither');
  const file = path.join(dir, 'credentials.json');
  if (fs.existsSync(file)) {
    if ((fs.statSync(file).mode & 0o077) !== 0)
      throw new StartupError('ROOT_CREDENTIALS', `${file} is readable by others: chmod 600 it`);
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { accessKey: string; secretKey: string };
    return { ...saved, source: 'file' };
  }
  // AWS's shapes: a 20-character upper-case id, a 40-character secret.
  const accessKey =
    'QS' +
    crypto
      .randomBytes(12)
      .toString('base64url')
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, 'X')
      .slice(0, 18);
  const secretKey = crypto.randomBytes(30).toString('base64');
  fs.writeFileSync(file, JSON.stringify({ accessKey, secretKey }) + '\n', { mode: 0o600, flag: 'wx' });
  return { accessKey, secretKey, source: 'created' };
}
