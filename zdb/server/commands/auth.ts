import crypto from 'node:crypto';
import { OK, simple, type Chunks } from '../../../src/resp/encode.js';
import { accessDenied, CommandError, invalid } from '../command-error.js';
import type { CommandContext, CommandSpec, Reply } from '../context.js';
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

/** A SECURE response checker for a password, consuming the challenge now (single use). */
export function secureCheck(ctx: CommandContext, hash: Buffer, password: string): () => boolean {
  const nonce = ctx.client.nonce;
  if (nonce === null) throw invalid('No CHALLENGE requested, secure authentication not available');
  if (hash.length !== 40) throw invalid('Invalid hash length');
  ctx.client.nonce = null;
  return () => secretEquals(hash, secureHash(nonce, password));
}

/**
 * Runs a password check through the server's AuthGuard (failures are paced per source), then
 * `granted` when it passed; a failure answers Access denied.
 */
export function guardedCheck(ctx: CommandContext, check: () => boolean, granted: () => Chunks): Reply {
  const verdict = ctx.server.authGuard.attempt(ctx.client.source, check);
  if (verdict === true) return granted();
  return Promise.resolve(verdict).then((ok) => {
    if (!ok) throw accessDenied();
    return granted();
  });
}

function auth(ctx: CommandContext): Reply {
  const admin = ctx.server.settings.adminPassword;
  const grant = (): Chunks => {
    ctx.client.admin = true;
    return [OK];
  };
  if (ctx.args.length === 2) {
    if (!admin) throw new CommandError('AUTH_DISABLED', 'Authentication disabled');
    expectArgs(ctx, 2);
    const given = ctx.args[1]!;
    if (given.length > 128) throw invalid('Password too long');
    return guardedCheck(ctx, () => secretEquals(given, admin), grant);
  }
  if (ctx.args.length !== 3) throw invalid('Unexpected arguments');
  expectArgs(ctx, 3);
  if (ctx.args[1]!.toString().toUpperCase() !== 'SECURE') throw invalid('Only SECURE extra method supported');
  if (ctx.args[2]!.toString().toUpperCase() === 'CHALLENGE') {
    ctx.client.nonce = crypto.randomBytes(8).toString('hex');
    return [simple(ctx.client.nonce)];
  }
  if (!admin) throw new CommandError('AUTH_DISABLED', 'Authentication disabled');
  return guardedCheck(ctx, secureCheck(ctx, ctx.args[2]!, admin), grant);
}

export const authCommands: CommandSpec[] = [{ name: 'AUTH', handler: auth }];
