import crypto from 'node:crypto';
import { OK, simple, type Chunks } from '../../../src/resp/encode.js';
import { ZdbError } from '../../engine/errors.js';
import type { CommandContext, CommandSpec } from '../context.js';
import { expectArgs } from '../validate.js';

/** Constant-time comparison of a client's secret with the expected one. */
export function secretEquals(given: Buffer, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

/** The response AUTH SECURE / SELECT SECURE expect: hex sha1 of "<challenge>:<password>". */
export function secureHash(nonce: string, password: string): string {
  return crypto.createHash('sha1').update(`${nonce}:${password}`).digest('hex');
}

/** Checks a SECURE response against a password, consuming the challenge. */
export function checkSecure(ctx: CommandContext, hash: Buffer, password: string): boolean {
  const nonce = ctx.client.nonce;
  if (nonce === null) throw new ZdbError('No CHALLENGE requested, secure authentication not available');
  if (hash.length !== 40) throw new ZdbError('Invalid hash length');
  ctx.client.nonce = null;
  return secretEquals(hash, secureHash(nonce, password));
}

function auth(ctx: CommandContext): Chunks {
  const admin = ctx.server.settings.adminPassword;
  if (ctx.args.length === 2) {
    if (!admin) throw new ZdbError('Authentication disabled');
    expectArgs(ctx, 2);
    if (ctx.args[1]!.length > 128) throw new ZdbError('Password too long');
    if (!secretEquals(ctx.args[1]!, admin)) throw new ZdbError('Access denied');
    ctx.client.admin = true;
    return [OK];
  }
  if (ctx.args.length !== 3) throw new ZdbError('Unexpected arguments');
  expectArgs(ctx, 3);
  if (ctx.args[1]!.toString().toUpperCase() !== 'SECURE') throw new ZdbError('Only SECURE extra method supported');
  if (ctx.args[2]!.toString().toUpperCase() === 'CHALLENGE') {
    ctx.client.nonce = crypto.randomBytes(8).toString('hex');
    return [simple(ctx.client.nonce)];
  }
  if (!admin) throw new ZdbError('Authentication disabled');
  if (!checkSecure(ctx, ctx.args[2]!, admin)) throw new ZdbError('Access denied');
  ctx.client.admin = true;
  return [OK];
}

export const authCommands: CommandSpec[] = [{ name: 'AUTH', handler: auth }];
