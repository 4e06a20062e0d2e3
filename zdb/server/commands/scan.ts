import { arrayHeader, bulk, integer, type Chunks } from '../../../src/resp/encode.js';
import { ZdbError } from '../../engine/errors.js';
import {
  decodeCursor,
  encodeCursor,
  firstLive,
  lastLive,
  nextLive,
  previousLive,
  type IndexPosition,
} from '../../engine/index-walk.js';
import type { Namespace } from '../../engine/namespace.js';
import type { CommandContext, CommandSpec } from '../context.js';
import { current, expectArgs } from '../validate.js';

/** A batch is cut by time, as in 0-db: about 2 ms of walking. */
const TIMESLICE_MS = 2;

function cursorOf(pos: IndexPosition): Buffer {
  return encodeCursor({ fileId: pos.fileId, offset: pos.offset, keyLength: pos.item.keyLength, length: pos.item.length, crc: pos.item.crc });
}

function walk(
  ctx: CommandContext,
  start: (ns: Namespace) => IndexPosition | null,
  step: (ns: Namespace, from: IndexPosition) => IndexPosition | null,
): Chunks {
  const ns = current(ctx);
  ns.assertReadable();
  const batch: IndexPosition[] = [];
  let pos: IndexPosition | null;
  if (ctx.args.length === 1) {
    pos = start(ns);
    if (!pos) throw new ZdbError('No more data');
    batch.push(pos);
  } else {
    pos = decodeCursor(ns, ctx.args[1]!);
    if (!pos) throw new ZdbError('Invalid key format');
  }
  const deadline = performance.now() + TIMESLICE_MS;
  while (performance.now() < deadline) {
    pos = step(ns, pos);
    if (!pos) break;
    batch.push(pos);
  }
  if (batch.length === 0) throw new ZdbError('No more data');
  const out: Chunks = [arrayHeader(2), ...bulk(cursorOf(batch[batch.length - 1]!)), arrayHeader(batch.length)];
  for (const p of batch) {
    out.push(arrayHeader(3));
    bulk(p.key, out);
    out.push(integer(p.item.length), integer(p.item.timestamp));
  }
  return out;
}

const scan = (ctx: CommandContext): Chunks => walk(ctx, firstLive, nextLive);
const rscan = (ctx: CommandContext): Chunks => walk(ctx, lastLive, previousLive);

function keycur(ctx: CommandContext): Chunks {
  expectArgs(ctx, 2);
  const ns = current(ctx);
  ns.assertReadable();
  const slot = ns.find(ctx.args[1]!);
  if (slot < 0) throw new ZdbError('Key not found');
  const t = ns.table;
  const cursor = encodeCursor({
    fileId: t.indexFile[slot]!,
    offset: t.indexOffset[slot]!,
    keyLength: ctx.args[1]!.length,
    length: t.length[slot]!,
    crc: t.crc[slot]!,
  });
  return bulk(cursor);
}

export const scanCommands: CommandSpec[] = [
  { name: 'SCAN', handler: scan },
  { name: 'RSCAN', handler: rscan },
  { name: 'KEYCUR', handler: keycur },
];
