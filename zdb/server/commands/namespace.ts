import fs from 'node:fs';
import { arrayHeader, bulk, integer, OK, type Chunks } from '../../../src/resp/encode.js';
import { DEFAULT_NAMESPACE, validNamespaceName } from '../../engine/engine.js';
import { ZdbError } from '../../engine/errors.js';
import { DATA_HEADER_SIZE, INDEX_HEADER_SIZE, IndexMode } from '../../engine/format.js';
import type { Namespace } from '../../engine/namespace.js';
import type { CommandContext, CommandSpec } from '../context.js';
import { checkSecure, secretEquals } from './auth.js';
import { current, expectArgs, namespaceName, requireAdmin } from '../validate.js';

function lookup(ctx: CommandContext, name: string): Namespace {
  const ns = ctx.server.engine.get(name);
  if (!ns) throw new ZdbError('Namespace not found');
  return ns;
}

function nsnew(ctx: CommandContext): Chunks {
  requireAdmin(ctx);
  expectArgs(ctx, 2);
  const name = namespaceName(ctx);
  if (name === DEFAULT_NAMESPACE || !validNamespaceName(name)) throw new ZdbError('This name is not allowed');
  if (ctx.server.engine.get(name)) throw new ZdbError('This namespace is not available');
  try {
    ctx.server.engine.create(name);
  } catch {
    throw new ZdbError('Could not create namespace');
  }
  return [OK];
}

function nsdel(ctx: CommandContext): Chunks {
  requireAdmin(ctx);
  expectArgs(ctx, 2);
  const name = namespaceName(ctx);
  if (name === DEFAULT_NAMESPACE) throw new ZdbError('Cannot remove default namespace');
  if (!ctx.server.engine.get(name)) throw new ZdbError("This namespace doesn't exists");
  if (ctx.client.namespace === name) throw new ZdbError("Cannot remove namespace you're currently using.");
  for (const c of ctx.server.clientsOn(name)) c.namespace = null;
  try {
    ctx.server.engine.remove(name);
  } catch {
    throw new ZdbError('Could not delete this namespace');
  }
  return [OK];
}

function select(ctx: CommandContext): Chunks {
  if (ctx.args.length < 2) throw new ZdbError('Invalid argument');
  const ns = lookup(ctx, namespaceName(ctx));
  const password = ns.settings.password;
  let writable = true;
  if (password) {
    if (ctx.args.length < 3) {
      if (!ns.settings.public) throw new ZdbError('Namespace protected and private');
      writable = false;
    } else if (ctx.args.length > 4) {
      throw new ZdbError('Too many arguments');
    } else if (ctx.args.length === 3) {
      if (ctx.args[2]!.length > 255) throw new ZdbError('Password too long');
      if (!secretEquals(ctx.args[2]!, password)) throw new ZdbError('Access denied');
    } else {
      if (ctx.args[2]!.toString().toUpperCase() !== 'SECURE') throw new ZdbError('Only SECURE extra method supported');
      if (!checkSecure(ctx, ctx.args[3]!, password)) throw new ZdbError('Access denied');
    }
  }
  ctx.client.namespace = ns.name;
  ctx.client.writable = writable;
  return [OK];
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
  const ns = lookup(ctx, namespaceName(ctx));
  const s = ns.settings;
  const yes = (b: boolean): string => (b ? 'yes' : 'no');
  const nextId = Buffer.alloc(8);
  nextId.writeBigUInt64BE(BigInt(ns.mode === IndexMode.Seq ? ns.nextId : ns.entries));
  const indexBytes = ns.indexMemoryBytes;
  const lines = [
    '# namespace',
    `name: ${ns.name}`,
    `entries: ${ns.entries}`,
    `public: ${yes(s.public)}`,
    `worm: ${yes(s.worm)}`,
    `locked: ${yes(s.locked || s.frozen)}`,
    `password: ${yes(s.password.length > 0)}`,
    `data_size_bytes: ${ns.dataBytes}`,
    `data_size_mb: ${(ns.dataBytes / 1048576).toFixed(2)}`,
    `data_limits_bytes: ${s.maxsize}`,
    `index_size_bytes: ${indexBytes}`,
    `index_size_kb: ${(indexBytes / 1024).toFixed(2)}`,
    `next_internal_id: 0x${nextId.readBigUInt64LE().toString(16).padStart(8, '0')}`,
    `mode: ${ns.mode === IndexMode.Seq ? 'sequential' : 'userkey'}`,
    `stats_index_io_errors: ${ns.stats.errors}`,
    'stats_index_io_error_last: 0',
    'stats_index_faults: 0',
    `stats_data_io_errors: ${ns.stats.errors}`,
    'stats_data_io_error_last: 0',
    'stats_data_faults: 0',
  ];
  if (s.maxsize > 0) lines.push(`space_available: ${Math.max(0, s.maxsize - ns.dataBytes)}`);
  for (const [label, dir] of [
    ['index', ns.files.indexDir],
    ['data', ns.files.dataDir],
  ] as const) {
    const free = diskFree(dir);
    if (free === null) continue;
    lines.push(`${label}_disk_freespace_bytes: ${free}`, `${label}_disk_freespace_mb: ${(free / 1048576).toFixed(2)}`);
  }
  if (ctx.client.admin) {
    lines.push(
      `data_path: ${ns.files.dataDir}`,
      `data_active: ${ns.files.dataPath(ns.files.headId)}`,
      `index_path: ${ns.files.indexDir}`,
      `index_active: ${ns.files.indexPath(ns.files.headId)}`,
      `data_current_id: ${ns.files.headId}`,
      `data_current_offset: ${ns.files.dataSize}`,
      `garbage_bytes: ${ns.garbageBytes}`,
    );
  }
  return bulk(lines.join('\n') + '\n');
}

const flag = (value: string): boolean => value.startsWith('1');

function nsset(ctx: CommandContext): Chunks {
  requireAdmin(ctx);
  expectArgs(ctx, 4);
  const name = namespaceName(ctx);
  if (ctx.args[2]!.length > 256) throw new ZdbError('Argument too long');
  if (ctx.args[3]!.length > 63) throw new ZdbError('Argument too long');
  const prop = ctx.args[2]!.toString();
  const value = ctx.args[3]!.toString();
  const engine = ctx.server.engine;
  const ns = lookup(ctx, name);
  const s = ns.settings;
  switch (prop) {
    case 'mode': {
      if (engine.opts.mode !== null) throw new ZdbError('This server instance is configured to use a single runtime mode');
      // 0-db: "used" is anything ever written (even if deleted since) or a jump to a new file.
      const used = ns.entries > 0 || ns.nextId > 0 || ns.files.headId > 0 || ns.files.indexSize > INDEX_HEADER_SIZE || ns.files.dataSize > DATA_HEADER_SIZE;
      if (used) throw new ZdbError('Cannot change mode of used namespace');
      if (value !== 'user' && value !== 'seq') throw new ZdbError('Invalid property value (expected: user, seq)');
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
  if (name === DEFAULT_NAMESPACE) throw new ZdbError('Cannot update default namespace');
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
      throw new ZdbError('Invalid property');
  }
  engine.saveDescriptor(ns);
  return [OK];
}

function dbsize(ctx: CommandContext): Chunks {
  return [integer(current(ctx).entries)];
}

function flush(ctx: CommandContext): Chunks {
  const ns = current(ctx);
  if (ns.settings.public || !ns.settings.password) throw new ZdbError('Flushing public namespace denied');
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
