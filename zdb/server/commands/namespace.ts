import fs from 'node:fs';
import { arrayHeader, bulk, integer, OK, type Chunks } from '../../../src/resp/encode.js';
import { DEFAULT_NAMESPACE, validNamespaceName } from '../../engine/engine.js';
import { Errors } from '../../engine/errors.js';
import { IndexMode } from '../../engine/format.js';
import type { Namespace } from '../../engine/namespace.js';
import { CommandError, invalid } from '../command-error.js';
import type { CommandContext, CommandSpec, Reply } from '../context.js';
import { guardedCheck, secretEquals, secureCheck } from './auth.js';
import { current, expectArgs, namespaceName, requireAdmin } from '../validate.js';

function lookup(ctx: CommandContext, name: string): Namespace {
  const ns = ctx.server.engine.get(name);
  if (!ns) throw Errors.nsNotFound();
  return ns;
}

function nsnew(ctx: CommandContext): Chunks {
  requireAdmin(ctx);
  expectArgs(ctx, 2);
  const name = namespaceName(ctx);
  if (name === DEFAULT_NAMESPACE || !validNamespaceName(name)) throw invalid('This name is not allowed');
  if (ctx.server.engine.get(name)) throw Errors.nsExists();
  try {
    ctx.server.engine.create(name);
  } catch (e) {
    throw new CommandError('SERVER', 'Could not create namespace', { cause: e });
  }
  return [OK];
}

function nsdel(ctx: CommandContext): Chunks {
  requireAdmin(ctx);
  expectArgs(ctx, 2);
  const name = namespaceName(ctx);
  if (name === DEFAULT_NAMESPACE) throw new CommandError('PERMISSION', 'Cannot remove default namespace');
  if (!ctx.server.engine.get(name)) throw new CommandError('NS_NOT_FOUND', "This namespace doesn't exists");
  if (ctx.client.namespace === name) throw invalid("Cannot remove namespace you're currently using.");
  for (const c of ctx.server.clientsOn(name)) c.namespace = null;
  try {
    ctx.server.engine.remove(name);
  } catch (e) {
    throw new CommandError('SERVER', 'Could not delete this namespace', { cause: e });
  }
  return [OK];
}

function select(ctx: CommandContext): Reply {
  if (ctx.args.length < 2) throw invalid('Invalid argument');
  const ns = lookup(ctx, namespaceName(ctx));
  const password = ns.settings.password;
  const enter = (writable: boolean) => (): Chunks => {
    ctx.client.namespace = ns.name;
    ctx.client.writable = writable;
    return [OK];
  };
  if (!password) return enter(true)();
  if (ctx.args.length < 3) {
    if (!ns.settings.public) throw new CommandError('PERMISSION', 'Namespace protected and private');
    return enter(false)();
  }
  if (ctx.args.length > 4) throw invalid('Too many arguments');
  if (ctx.args.length === 3) {
    const given = ctx.args[2]!;
    if (given.length > 255) throw invalid('Password too long');
    return guardedCheck(ctx, () => secretEquals(given, password), enter(true));
  }
  if (ctx.args[2]!.toString().toUpperCase() !== 'SECURE') throw invalid('Only SECURE extra method supported');
  return guardedCheck(ctx, secureCheck(ctx, ctx.args[3]!, password), enter(true));
}

function nslist(ctx: CommandContext): Chunks {
  const names = [...ctx.server.engine.namespaces.keys()];
  const out: Chunks = [arrayHeader(names.length)];
  for (const n of names) bulk(n, out);
  return out;
}

function diskFree(dir: string): number | null {
  try {
    const s = fs.statfsSync(dir);
    return s.bsize * s.bavail;
  } catch {
    return null;
  }
}

function nsinfo(ctx: CommandContext): Chunks {
  expectArgs(ctx, 2);
  const info = lookup(ctx, namespaceName(ctx)).info();
  const s = info.settings;
  const yes = (b: boolean): string => (b ? 'yes' : 'no');
  const nextId = Buffer.alloc(8);
  nextId.writeBigUInt64BE(BigInt(info.nextId));
  const lines = [
    '# namespace',
    `name: ${info.name}`,
    `entries: ${info.entries}`,
    `public: ${yes(s.public)}`,
    `worm: ${yes(s.worm)}`,
    `locked: ${yes(s.locked || s.frozen)}`,
    `password: ${yes(s.password.length > 0)}`,
    `data_size_bytes: ${info.dataBytes}`,
    `data_size_mb: ${(info.dataBytes / 1048576).toFixed(2)}`,
    `data_limits_bytes: ${s.maxsize}`,
    `index_size_bytes: ${info.indexBytes}`,
    `index_size_kb: ${(info.indexBytes / 1024).toFixed(2)}`,
    `next_internal_id: 0x${nextId.readBigUInt64LE().toString(16).padStart(8, '0')}`,
    `mode: ${info.mode === IndexMode.Seq ? 'sequential' : 'userkey'}`,
    `stats_index_io_errors: ${info.errors}`,
    'stats_index_io_error_last: 0',
    'stats_index_faults: 0',
    `stats_data_io_errors: ${info.errors}`,
    'stats_data_io_error_last: 0',
    'stats_data_faults: 0',
  ];
  if (s.maxsize > 0) lines.push(`space_available: ${Math.max(0, s.maxsize - info.dataBytes)}`);
  for (const [label, dir] of [
    ['index', info.indexDir],
    ['data', info.dataDir],
  ] as const) {
    const free = diskFree(dir);
    if (free === null) continue;
    lines.push(`${label}_disk_freespace_bytes: ${free}`, `${label}_disk_freespace_mb: ${(free / 1048576).toFixed(2)}`);
  }
  if (ctx.client.admin) {
    lines.push(
      `data_path: ${info.dataDir}`,
      `data_active: ${info.dataActive}`,
      `index_path: ${info.indexDir}`,
      `index_active: ${info.indexActive}`,
      `data_current_id: ${info.headId}`,
      `data_current_offset: ${info.headDataSize}`,
      `garbage_bytes: ${info.garbageBytes}`,
    );
  }
  return bulk(lines.join('\n') + '\n');
}

const flag = (value: string): boolean => value.startsWith('1');

function nsset(ctx: CommandContext): Chunks {
  requireAdmin(ctx);
  expectArgs(ctx, 4);
  const name = namespaceName(ctx);
  if (ctx.args[2]!.length > 256) throw invalid('Argument too long');
  if (ctx.args[3]!.length > 63) throw invalid('Argument too long');
  const prop = ctx.args[2]!.toString();
  const value = ctx.args[3]!.toString();
  const engine = ctx.server.engine;
  const ns = lookup(ctx, name);
  const s = ns.settings;
  switch (prop) {
    case 'mode': {
      if (engine.opts.mode !== null)
        throw new CommandError('UNSUPPORTED', 'This server instance is configured to use a single runtime mode');
      if (ns.used) throw invalid('Cannot change mode of used namespace');
      if (value !== 'user' && value !== 'seq') throw invalid('Invalid property value (expected: user, seq)');
      const mode = value === 'seq' ? IndexMode.Seq : IndexMode.User;
      if (mode !== ns.mode) engine.reset(ns, mode);
      return [OK];
    }
    case 'lock':
      s.locked = flag(value);
      s.frozen = false;
      return [OK];
    case 'freeze':
      s.frozen = flag(value);
      s.locked = false;
      return [OK];
  }
  if (name === DEFAULT_NAMESPACE) throw new CommandError('PERMISSION', 'Cannot update default namespace');
  switch (prop) {
    case 'maxsize':
      s.maxsize = Math.max(0, Number.parseInt(value, 10) || 0);
      break;
    case 'password':
      s.password = value === '*' ? '' : value;
      break;
    case 'public':
      s.public = flag(value);
      break;
    case 'worm':
      s.worm = flag(value);
      break;
    default:
      throw invalid('Invalid property');
  }
  engine.saveDescriptor(ns);
  return [OK];
}

function dbsize(ctx: CommandContext): Chunks {
  return [integer(current(ctx).entries)];
}

function flush(ctx: CommandContext): Chunks {
  const ns = current(ctx);
  if (ns.settings.public || !ns.settings.password)
    throw new CommandError('PERMISSION', 'Flushing public namespace denied');
  ns.assertWritable();
  ctx.server.engine.flush(ns);
  ctx.durable = true;
  return [OK];
}

function nsjump(ctx: CommandContext): Chunks {
  requireAdmin(ctx);
  current(ctx).jump();
  return [OK];
}

export const namespaceCommands: CommandSpec[] = [
  { name: 'NSNEW', handler: nsnew },
  { name: 'NSDEL', handler: nsdel },
  { name: 'SELECT', handler: select },
  { name: 'NSLIST', handler: nslist },
  { name: 'NSINFO', handler: nsinfo },
  { name: 'NSSET', handler: nsset },
  { name: 'NSJUMP', handler: nsjump },
  { name: 'DBSIZE', handler: dbsize },
  { name: 'FLUSH', handler: flush },
];
