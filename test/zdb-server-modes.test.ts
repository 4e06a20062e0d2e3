/**
 * zdb server conformance: sequential mode, mixed mode and WAIT. Exact replies as 0-db v2.0.7
 * gives them; with ZDB_REFERENCE_BIN the same scenarios run against 0-db too.
 */
import { expect } from 'vitest';
import { crc32cZdb } from './helpers/zdb-files.js';
import type { RawClient } from './helpers/raw-resp.js';
import {
  $,
  cursor,
  defineScenarios,
  historyCursor,
  parseInfo,
  render,
  seqId,
  unbulk,
  type Rendered,
  type Session,
} from './helpers/zdb-scenario.js';

const ONLY_UPDATE = '-Invalid key, only update authorized';
const SEQ_ITEM = 34 + 8;
const seqOffset = (n: number): number => 29 + n * SEQ_ITEM;

/** Walks SCAN/RSCAN to the end; returns every entry (recorded as one step). */
async function walk(s: Session, command: 'SCAN' | 'RSCAN'): Promise<Rendered[]> {
  const entries: Rendered[] = [];
  let at: Buffer | undefined;
  for (;;) {
    const reply = await s.x(at ? [command, at] : [command], undefined, { quiet: true });
    if (reply === '-No more data') break;
    const [cur, batch] = reply as [string, Rendered[]];
    entries.push(...batch);
    at = unbulk(cur);
  }
  s.record([`${command} walk`], entries);
  return entries;
}

defineScenarios('zdb server: sequential mode', [
  {
    name: 'ids 0, 1, 2 as 8-byte little-endian; updates; an update consumes an id; unknown ids refused',
    args: ['--mode', 'seq'],
    async run(s) {
      await s.x(['SET', '', 'a', '1000'], $(seqId(0)));
      await s.x(['SET', '', 'b', '1001'], $(seqId(1)));
      await s.x(['GET', seqId(0)], '$a');
      await s.x(['GET', seqId(1)], '$b');
      await s.x(['SET', seqId(0), 'a'], 'nil');
      await s.x(['SET', seqId(0), 'a2', '1002'], $(seqId(0)));
      await s.x(['GET', seqId(0)], '$a2');
      // The update appended a deleted copy of the old item, which took id 2.
      await s.x(['SET', '', 'c', '1003'], $(seqId(3)));
      await s.x(['GET', seqId(2)], 'nil');
      await s.x(['EXISTS', seqId(2)], ':0');
      await s.x(['SET', seqId(2), 'x'], ONLY_UPDATE);
      await s.x(['SET', seqId(4), 'x'], ONLY_UPDATE);
      await s.x(['SET', seqId(9), 'x'], ONLY_UPDATE);
      await s.x(['SET', 'abc', 'x'], ONLY_UPDATE);
      await s.x(['SET', Buffer.concat([seqId(0), Buffer.from([0])]), 'x'], ONLY_UPDATE);
      await s.x(['GET', 'abc'], 'nil');
      await s.x(['DBSIZE'], ':3');
      await s.x(['LENGTH', seqId(0)], ':2');
      await s.x(['KEYTIME', seqId(0)], ':1002');
      await s.x(['CHECK', seqId(3)], ':1');
      await s.x(['MGET', seqId(0), seqId(1), seqId(2), seqId(3)], ['$a2', '$b', 'nil', '$c']);
      await s.x(['KEYCUR', seqId(0)], $(cursor(8, 0, 2, seqOffset(0), crc32cZdb(Buffer.from('a2')))));
      await s.x(['KEYCUR', seqId(3)], $(cursor(8, 0, 1, seqOffset(3), crc32cZdb(Buffer.from('c')))));
      await s.x(['KEYCUR', seqId(2)], '-Key not found');
      // History: the current item points at the deleted copy (id 2's slot).
      await s.x(['HISTORY', seqId(0)], [$(historyCursor(0, seqOffset(2))), '$1002', '$a2']);
      await s.x(['HISTORY', seqId(0), historyCursor(0, seqOffset(2))], ['nil', '$1000', '$a']);
      await s.x(['HISTORY', seqId(1)], ['nil', '$1001', '$b']);
      const all: Rendered[] = [
        [$(seqId(0)), ':2', ':1002'],
        [$(seqId(1)), ':1', ':1001'],
        [$(seqId(3)), ':1', ':1003'],
      ];
      expect(await walk(s, 'SCAN')).toEqual(all);
      expect(await walk(s, 'RSCAN')).toEqual([...all].reverse());
      await s.x(['DEL', seqId(1)], '+OK');
      await s.x(['DEL', seqId(1)], '-Key not found');
      await s.x(['GET', seqId(1)], 'nil');
      // A deleted id cannot be set again; new values take new ids.
      await s.x(['SET', seqId(1), 'z'], ONLY_UPDATE);
      await s.x(['SET', '', 'd', '1004'], $(seqId(4)));
      await s.x(['DBSIZE'], ':3');
      expect(await walk(s, 'SCAN')).toEqual([all[0], all[2], [$(seqId(4)), ':1', ':1004']]);
      await s.x(
        ['NSINFO', 'default'],
        (r) => {
          const f = parseInfo(r);
          expect(f.get('mode')).toBe('sequential');
          expect(f.get('entries')).toBe('3');
          expect(f.get('data_size_bytes')).toBe('4');
          expect(f.get('index_size_bytes')).toBe(String(3 * (64 + 8)));
        },
        { as: () => 'nsinfo' },
      );
      // Two updates in a row: each takes an id, history goes back through both copies.
      await s.x(['SET', seqId(3), 'c2', '1005'], $(seqId(3)));
      await s.x(['SET', seqId(3), 'c3', '1006'], $(seqId(3)));
      await s.x(['SET', '', 'e', '1007'], $(seqId(7)));
      await s.x(['HISTORY', seqId(3)], [$(historyCursor(0, seqOffset(6))), '$1006', '$c3']);
      await s.x(
        ['HISTORY', seqId(3), historyCursor(0, seqOffset(6))],
        [$(historyCursor(0, seqOffset(5))), '$1005', '$c2'],
      );
      await s.x(['HISTORY', seqId(3), historyCursor(0, seqOffset(5))], ['nil', '$1003', '$c']);
    },
  },
  {
    name: 'an empty value in seq mode, and SET with a key in user mode',
    args: ['--mode', 'seq'],
    async run(s) {
      await s.x(['SET', '', ''], $(seqId(0)));
      await s.x(['GET', seqId(0)], '$');
      await s.x(['SET', seqId(0), ''], 'nil');
      await s.x(['LENGTH', seqId(0)], ':0');
      await s.x(['NSNEW', 'other'], '+OK');
      await s.x(['SELECT', 'other'], '+OK');
      // With --mode seq every namespace is sequential.
      await s.x(['SET', 'k', 'v'], ONLY_UPDATE);
      await s.x(['SET', '', 'v'], $(seqId(0)));
    },
  },
  {
    name: 'mixed mode: one namespace sequential, the others user-keyed',
    async run(s) {
      await s.x(['NSNEW', 'sq'], '+OK');
      await s.x(['NSSET', 'sq', 'mode', 'seq'], '+OK');
      await s.x(['SELECT', 'sq'], '+OK');
      await s.x(['SET', '', 'v0'], $(seqId(0)));
      await s.x(['SET', '', 'v1'], $(seqId(1)));
      await s.x(['SET', 'k', 'v'], ONLY_UPDATE);
      await s.x(['SELECT', 'default'], '+OK');
      await s.x(['SET', 'k', 'v'], '$k');
      await s.x(['SET', '', 'v'], '-Invalid argument, key needed');
      await s.x(['GET', seqId(0)], 'nil');
      await s.x(['SET', seqId(0), 'user key that looks like an id'], $(seqId(0)));
      await s.x(['NSINFO', 'sq'], (r) => expect(parseInfo(r).get('mode')).toBe('sequential'), { as: () => 'nsinfo' });
      await s.x(['NSINFO', 'default'], (r) => expect(parseInfo(r).get('mode')).toBe('userkey'), { as: () => 'nsinfo' });
      await s.x(['SELECT', 'sq'], '+OK');
      await s.x(['GET', seqId(1)], '$v1');
      await s.x(['DBSIZE'], ':2');
    },
  },
]);

// ---------------------------------------------------------------- WAIT

/**
 * Sends WAIT on `waiter` and resolves once the server has taken it: WAIT has no reply, so
 * `poller` (on a namespace of its own, so that it wakes nobody) polls INFO until
 * commands_executed counts one command more than its own INFOs.
 */
async function startWait(
  s: Session,
  poller: RawClient,
  waiter: RawClient,
  args: string[],
  check: Rendered,
): Promise<{ reply: Promise<Rendered> }> {
  const executed = async (): Promise<number> =>
    Number(parseInfo((await s.x(['INFO'], undefined, { quiet: true, on: poller })) as string).get('commands_executed'));
  const base = await executed();
  const reply = s.send(['WAIT', ...args], check, { on: waiter });
  for (let polls = 1; ; polls++) {
    if ((await executed()) - base > polls) break;
    expect(polls, 'WAIT never counted as executed').toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 5));
  }
  // Wrapped: an async function returning the promise itself would wait for it.
  return { reply };
}

defineScenarios('zdb server: WAIT', [
  {
    name: 'another client\'s command wakes WAIT; "-Timeout" otherwise; argument checks',
    async run(s) {
      const w = await s.client();
      const p = await s.client();
      await s.x(['NSNEW', 'poll'], '+OK');
      await s.x(['SELECT', 'poll'], '+OK', { on: p });
      let woken = await startWait(s, p, w, ['SET'], '+SET');
      await s.x(['SET', 'k', 'v'], '$k');
      await woken.reply;
      // Any command for "*", with its name.
      woken = await startWait(s, p, w, ['*'], '+GET');
      await s.x(['GET', 'k'], '$v');
      await woken.reply;
      // A command that fails still counts.
      woken = await startWait(s, p, w, ['DEL'], '+DEL');
      await s.x(['DEL', 'missing'], '-Key not found');
      await woken.reply;
      woken = await startWait(s, p, w, ['set', '1000'], '+SET');
      await s.x(['SET', 'k', 'v'], 'nil');
      await woken.reply;
      // Nothing happens: timeout.
      await s.x(['WAIT', 'SET', '100'], '-Timeout', { on: w });
      // Commands on another namespace do not wake it.
      await s.x(['NSNEW', 'other'], '+OK');
      await s.x(['SELECT', 'other'], '+OK', { on: w });
      woken = await startWait(s, p, w, ['SET', '300'], '-Timeout');
      await s.x(['SET', 'k', 'v2'], '$k');
      await s.x(['GET', 'k'], '$v2');
      await woken.reply;
      await s.x(['SELECT', 'other'], '+OK');
      woken = await startWait(s, p, w, ['SET', '60000'], '+SET');
      await s.x(['SET', 'x', 'y'], '$x');
      await woken.reply;
      // Unknown commands are not executed and wake nobody.
      woken = await startWait(s, p, w, ['*', '300'], '-Timeout');
      await s.x(['NOSUCH'], '-Command not supported');
      await woken.reply;

      // A command pipelined behind a WAIT: 0-db answers it at once and sends "-Timeout" later;
      // ours answers in request order, so after the WAIT (documented difference).
      const replies = (await w.pipeline([['WAIT', 'SET', '100'], ['PING']])).map(render);
      s.record(['WAIT SET 100 + PING'], replies, { differs: true });
      expect(replies).toEqual(s.ours ? ['-Timeout', '+PONG'] : ['+PONG', '-Timeout']);
      await s.x(['WAIT'], '-Invalid arguments', { on: w });
      await s.x(['WAIT', 'SET', '100', 'x'], '-Invalid arguments', { on: w });
      await s.x(['WAIT', 'NOPE'], '-Unknown command to watch', { on: w });
      await s.x(['WAIT', 'SET', '99'], '-Invalid timeout', { on: w });
      await s.x(['WAIT', 'SET', 'abc'], '-Invalid timeout', { on: w });
      await s.x(['WAIT', 'SET', '1800001'], '-Invalid timeout', { on: w });
      await s.x(['WAIT', 'SET', '00000000000000100'], '-Invalid timeout', { on: w });
      await s.x(['PING'], '+PONG', { on: w });
    },
  },
]);
