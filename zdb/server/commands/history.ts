import { arrayHeader, bulk, NIL, type Chunks } from '../../../src/resp/encode.js';
import { ZdbError } from '../../engine/errors.js';
import { itemAt, type IndexPosition } from '../../engine/index-walk.js';
import { DATA_ENTRY_HEADER_SIZE } from '../../engine/format.js';
import type { CommandContext, CommandSpec } from '../context.js';
import { current } from '../validate.js';

/** HISTORY cursor: 0-db's index_ekey_t (u32 index file, u32 offset); nil at the oldest version. */
function encodeParent(fileId: number, offset: number): Chunks {
  if (fileId === 0 && offset === 0) return [NIL];
  const b = Buffer.alloc(8);
  b.writeUInt32LE(fileId, 0);
  b.writeUInt32LE(offset, 4);
  return bulk(b);
}

function version(ctx: CommandContext, pos: IndexPosition): Chunks {
  const ns = current(ctx);
  const { item } = pos;
  const payload = ns.files.readData(ns.dataFileOf(pos.fileId, item), item.dataOffset + DATA_ENTRY_HEADER_SIZE + item.keyLength, item.length);
  return [arrayHeader(3), ...encodeParent(item.parentFileId, item.parentOffset), ...bulk(String(item.timestamp)), ...bulk(payload)];
}

function history(ctx: CommandContext): Chunks {
  if (ctx.args.length !== 2 && ctx.args.length !== 3) throw new ZdbError('Invalid arguments');
  const ns = current(ctx);
  ns.assertReadable();
  const key = ctx.args[1]!;
  if (ctx.args.length === 2) {
    const slot = ns.find(key);
    if (slot < 0) throw new ZdbError('Key not found');
    const pos = itemAt(ns, ns.table.indexFile[slot]!, ns.table.indexOffset[slot]!);
    if (!pos) throw new ZdbError('Internal Error');
    return version(ctx, pos);
  }
  const cursor = ctx.args[2]!;
  if (cursor.length !== 8) throw new ZdbError('Invalid arguments');
  const fileId = cursor.readUInt32LE(0);
  const offset = cursor.readUInt32LE(4);
  if (fileId === 0 && offset === 0) throw new ZdbError('No more history');
  const pos = itemAt(ns, fileId, offset);
  if (!pos) throw new ZdbError('Invalid arguments (index query)');
  // A compacted file may have moved what the cursor named: the key must still match.
  if (!pos.key.equals(key)) throw new ZdbError('Invalid arguments (invalid key)');
  return version(ctx, pos);
}

export const historyCommands: CommandSpec[] = [{ name: 'HISTORY', handler: history }];
