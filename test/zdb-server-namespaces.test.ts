/**
 * zdb server conformance: namespaces and access control (NSNEW, NSDEL, NSLIST, NSINFO, NSSET,
 * SELECT, AUTH, admin-only commands, --admin, --protect, --maxsize, FLUSH, DBSIZE). Exact replies
 * as 0-db v2.0.7 gives them; with ZDB_REFERENCE_BIN the same scenarios run against 0-db too.
 */
import crypto from 'node:crypto';
import { expect } from 'vitest';
import { defineScenarios, parseInfo, unbulk, type Rendered, type Session } from './helpers/zdb-scenario.js';
import type { RawClient } from './helpers/raw-resp.js';

const sha1 = (s: string): string => crypto.createHash('sha1').update(s).digest('hex');

/** Fields whose values legitimately differ from 0-db (documented) or between runs. */
const RUN_DEPENDENT =
  /^(next_internal_id|index_disk_freespace_bytes|index_disk_freespace_mb|data_disk_freespace_bytes|data_disk_freespace_mb|garbage_bytes)$/;

/**
 * NSINFO with exact expectations for `want` (a null value: the line must be absent). The
 * transcript keeps every field except the run-dependent ones, with directories normalised.
 */
async function nsinfo(
  s: Session,
  name: string,
  want: Record<string, string | null>,
  on?: RawClient,
): Promise<Map<string, string>> {
  let fields = new Map<string, string>();
  await s.x(
    ['NSINFO', name],
    (r) => {
      const text = unbulk(r).toString();
      expect(text.startsWith(`# namespace\nname: ${name}\n`), text).toBe(true);
      expect(text.endsWith('\n')).toBe(true);
      fields = parseInfo(r);
      for (const [k, v] of Object.entries(want)) {
        if (v === null) expect(fields.has(k), `${k} should be absent`).toBe(false);
        else expect(fields.get(k), k).toBe(v);
      }
      for (const k of ['index_disk_freespace_bytes', 'data_disk_freespace_bytes'])
        expect(fields.get(k), k).toMatch(/^[1-9]\d*$/);
    },
    {
      on,
      as: (r) => {
        const out: Record<string, string> = {};
        for (const [k, v] of parseInfo(r)) {
          if (RUN_DEPENDENT.test(k)) continue;
          out[k] = v.replace(s.proc.dataDir, '<data>').replace(s.proc.indexDir, '<index>');
        }
        return out;
      },
    },
  );
  return fields;
}

const FRESH = {
  entries: '0',
  public: 'yes',
  worm: 'no',
  locked: 'no',
  password: 'no',
  data_size_bytes: '0',
  data_size_mb: '0.00',
  data_limits_bytes: '0',
  index_size_bytes: '0',
  index_size_kb: '0.00',
  mode: 'userkey',
  space_available: null,
};

const FROZEN = '-Namespace is temporarily frozen (read-write disabled)';
const LOCKED = '-Namespace is temporarily locked (read-only)';
const RO = '-Namespace is in read-only mode';

defineScenarios('zdb server: namespaces', [
  {
    name: 'NSNEW, NSLIST, NSINFO, NSDEL and their checks',
    async run(s) {
      await s.x(['NSLIST'], ['$default']);
      await s.x(['NSNEW', 'ns1'], '+OK');
      await s.x(['NSNEW', 'ns1'], '-This namespace is not available');
      for (const bad of ['default', '.', '..', 'a/b', '/x']) await s.x(['NSNEW', bad], '-This name is not allowed');
      await s.x(['NSNEW', ''], '-Invalid argument');
      await s.x(['NSNEW'], '-Unexpected arguments');
      await s.x(['NSNEW', 'a', 'b'], '-Unexpected arguments');
      await s.x(['NSNEW', 'n'.repeat(129)], '-Namespace too long');
      await s.x(['NSNEW', 'n'.repeat(128)], '+OK');
      await s.x(['NSLIST', 'ignored'], ['$default', '$ns1', `$${'n'.repeat(128)}`]);
      await nsinfo(s, 'ns1', { ...FRESH, data_current_id: '0', data_current_offset: '28' });
      await nsinfo(s, 'default', FRESH);
      await s.x(['NSINFO', 'nope'], '-Namespace not found');
      await s.x(['NSINFO'], '-Unexpected arguments');
      await s.x(['NSINFO', ''], '-Invalid argument');
      await s.x(['NSINFO', 'n'.repeat(129)], '-Namespace too long');

      await s.x(['SELECT', 'ns1'], '+OK');
      await s.x(['SET', 'a', 'hello'], '$a');
      await s.x(['SET', 'bb', 'world!'], '$bb');
      await s.x(['SET', 'ccc', 'gone'], '$ccc');
      await s.x(['DEL', 'ccc'], '+OK');
      await s.x(['DBSIZE'], ':2');
      // index size: 64 + key length per live key; data: 28 + (18 + key + value) per entry, tombstone included.
      await nsinfo(s, 'ns1', {
        entries: '2',
        data_size_bytes: '11',
        index_size_bytes: '131',
        index_size_kb: '0.13',
        data_current_id: '0',
        data_current_offset: String(28 + (18 + 1 + 5) + (18 + 2 + 6) + (18 + 3 + 4) + (18 + 3)),
        data_path: `${s.proc.dataDir}/ns1`,
        data_active: `${s.proc.dataDir}/ns1/d0`,
        index_path: `${s.proc.indexDir}/ns1`,
        index_active: `${s.proc.indexDir}/ns1/i0`,
      });
      await s.x(['NSDEL', 'ns1'], "-Cannot remove namespace you're currently using.");
      await s.x(['SELECT', 'default'], '+OK');
      await s.x(['DBSIZE'], ':0');
      await s.x(['NSDEL', 'ns1'], '+OK');
      await s.x(['NSDEL', 'ns1'], "-This namespace doesn't exists");
      await s.x(['NSDEL', 'default'], '-Cannot remove default namespace');
      await s.x(['NSDEL', ''], '-Invalid argument');
      await s.x(['NSDEL'], '-Unexpected arguments');
      await s.x(['NSDEL', 'n'.repeat(129)], '-Namespace too long');
      await s.x(['SELECT', 'ns1'], '-Namespace not found');
      await s.x(['NSLIST'], ['$default', `$${'n'.repeat(128)}`]);
      // 0-db reuses the slot of a deleted namespace in NSLIST; ours lists in creation order.
      await s.x(['NSNEW', 'z1'], '+OK');
      await s.x(['NSNEW', 'z2'], '+OK');
      await s.x(['NSDEL', 'z1'], '+OK');
      await s.x(['NSNEW', 'z3'], '+OK');
      const n128 = `$${'n'.repeat(128)}`;
      await s.x(
        ['NSLIST'],
        s.ours ? ['$default', n128, '$z2', '$z3'] : (r) => expect((r as string[])[0]).toBe('$default'),
        { differs: true },
      );
      await s.x(
        ['NSLIST'],
        (r) => expect([...(r as string[])].sort()).toEqual(['$default', '$z2', '$z3', n128].sort()),
        { as: (r) => [...(r as string[])].sort() },
      );
      // A namespace created again starts empty.
      await s.x(['NSNEW', 'ns1'], '+OK');
      await s.x(['SELECT', 'ns1'], '+OK');
      await s.x(['DBSIZE'], ':0');
      await s.x(['GET', 'a'], 'nil');
    },
  },
  {
    name: 'NSDEL detaches the other clients of the namespace',
    async run(s) {
      const other = await s.client();
      await s.x(['NSNEW', 'gone'], '+OK');
      await s.x(['SELECT', 'gone'], '+OK', { on: other });
      await s.x(['SET', 'k', 'v'], '$k', { on: other });
      await s.x(['NSDEL', 'gone'], '+OK');
      await s.x(['PING'], '-Your active namespace is not available anymore (probably removed).', { on: other });
      await other.waitClosed();
      await s.x(['PING'], '+PONG');
    },
  },
  {
    name: 'namespaces are separate key spaces',
    async run(s) {
      await s.x(['NSNEW', 'a'], '+OK');
      await s.x(['NSNEW', 'b'], '+OK');
      await s.x(['SET', 'k', 'in default'], '$k');
      await s.x(['SELECT', 'a'], '+OK');
      await s.x(['GET', 'k'], 'nil');
      await s.x(['SET', 'k', 'in a'], '$k');
      await s.x(['SELECT', 'b'], '+OK');
      await s.x(['EXISTS', 'k'], ':0');
      await s.x(['SCAN'], '-No more data');
      await s.x(['SELECT', 'a'], '+OK');
      await s.x(['GET', 'k'], '$in a');
      await s.x(['SELECT', 'default'], '+OK');
      await s.x(['GET', 'k'], '$in default');
      await nsinfo(s, 'a', { entries: '1', data_size_bytes: '4' });
      await nsinfo(s, 'b', { entries: '0' });
    },
  },
  {
    name: 'NSSET maxsize: "-No space left on this namespace", space_available',
    async run(s) {
      await s.x(['NSNEW', 'q'], '+OK');
      await s.x(['NSSET', 'q', 'maxsize', '10'], '+OK');
      await nsinfo(s, 'q', { data_limits_bytes: '10', space_available: '10' });
      await s.x(['SELECT', 'q'], '+OK');
      await s.x(['SET', 'a', '12345'], '$a');
      await s.x(['SET', 'b', '123456'], '-No space left on this namespace');
      await s.x(['SET', 'b', '12345'], '$b');
      await s.x(['SET', 'c', ''], '$c');
      await s.x(['SET', 'd', 'x'], '-No space left on this namespace');
      // An overwrite may use the space of the value it replaces.
      await s.x(['SET', 'a', '123456'], '-No space left on this namespace');
      await s.x(['SET', 'a', '1234'], '$a');
      await s.x(['SET', 'a', '12345'], '$a');
      await nsinfo(s, 'q', { entries: '3', data_size_bytes: '10', data_limits_bytes: '10', space_available: '0' });
      await s.x(['DEL', 'b'], '+OK');
      await s.x(['SET', 'd', 'xyz'], '$d');
      await nsinfo(s, 'q', { data_size_bytes: '8', space_available: '2' });
      await s.x(['NSSET', 'q', 'maxsize', '0'], '+OK');
      await s.x(['SET', 'e', 'x'.repeat(1000)], '$e');
      await nsinfo(s, 'q', { data_limits_bytes: '0', space_available: null });
    },
  },
  {
    name: 'NSSET password and public; SELECT read-only, private, wrong password, SECURE',
    async run(s) {
      const reader = await s.client();
      await s.x(['NSNEW', 'p'], '+OK');
      await s.x(['SELECT', 'p'], '+OK');
      await s.x(['SET', 'k', 'v'], '$k');
      await s.x(['NSSET', 'p', 'password', 'secret'], '+OK');
      await nsinfo(s, 'p', { password: 'yes', public: 'yes' });
      // Public with a password: read-only without it.
      await s.x(['SELECT', 'p'], '+OK', { on: reader });
      await s.x(['GET', 'k'], '$v', { on: reader });
      await s.x(
        ['SCAN'],
        (r) => expect((r as Rendered[])[1]).toEqual([['$k', ':1', expect.stringMatching(/^:\d+$/)]]),
        { on: reader, as: () => 'scan' },
      );
      await s.x(['SET', 'k', 'w'], RO, { on: reader });
      await s.x(['SET', 'new', 'w'], RO, { on: reader });
      await s.x(['DEL', 'k'], RO, { on: reader });
      await s.x(['DEL', 'missing'], RO, { on: reader });
      await s.x(['SELECT', 'p', 'wrong'], '-Access denied', { on: reader });
      await s.x(['SELECT', 'p', 'secre'], '-Access denied', { on: reader });
      await s.x(['SELECT', 'p', 'secret'], '+OK', { on: reader });
      await s.x(['SET', 'k', 'w'], '$k', { on: reader });
      // The client that selected before the password was set keeps its access.
      await s.x(['GET', 'k'], '$w');
      await s.x(['NSSET', 'p', 'public', '0'], '+OK');
      await nsinfo(s, 'p', { password: 'yes', public: 'no' });
      const priv = await s.client();
      await s.x(['SELECT', 'p'], '-Namespace protected and private', { on: priv });
      await s.x(['DBSIZE'], ':0', { on: priv });
      await s.x(['SELECT', 'p', 'wrong'], '-Access denied', { on: priv });
      await s.x(['SELECT', 'p', 'a', 'b', 'c'], '-Too many arguments', { on: priv });
      await s.x(['SELECT', 'p', 'x'.repeat(256)], '-Password too long', { on: priv });
      await s.x(['SELECT', 'p', 'FOO', 'x'.repeat(40)], '-Only SECURE extra method supported', { on: priv });
      await s.x(
        ['SELECT', 'p', 'SECURE', 'x'.repeat(40)],
        '-No CHALLENGE requested, secure authentication not available',
        { on: priv },
      );
      await s.x(['SELECT', 'p', 'secret'], '+OK', { on: priv });
      await s.x(['DBSIZE'], ':1', { on: priv });
      await s.x(['SELECT'], '-Invalid argument', { on: priv });
      await s.x(['SELECT', 'nope'], '-Namespace not found', { on: priv });
      await s.x(['SELECT', 'n'.repeat(129)], '-Namespace too long', { on: priv });
      // A failed SELECT keeps the namespace selected before.
      await s.x(['GET', 'k'], '$w', { on: priv });

      // SECURE: sha1 hex of "<challenge>:<password>".
      const sec = await s.client();
      const nonce = await s.x(['AUTH', 'SECURE', 'CHALLENGE'], (r) => expect(r).toMatch(/^\+[0-9a-f]{16}$/), {
        on: sec,
        as: () => 'challenge',
      });
      const challenge = (nonce as string).slice(1);
      await s.x(['SELECT', 'p', 'SECURE', 'abc'], '-Invalid hash length', { on: sec });
      await s.x(['SELECT', 'p', 'SECURE', sha1(`${challenge}:wrong`)], '-Access denied', { on: sec });
      await s.x(['DBSIZE'], ':0', { on: sec });
      // Ours uses a challenge up on any attempt (0-db's SELECT never does): ask again.
      const again = await s.x(['AUTH', 'SECURE', 'CHALLENGE'], (r) => expect(r).toMatch(/^\+[0-9a-f]{16}$/), {
        on: sec,
        as: () => 'challenge',
      });
      const challenge2 = (again as string).slice(1);
      await s.x(['SELECT', 'p', 'secure', sha1(`${challenge2}:secret`)], '+OK', { on: sec });
      await s.x(['GET', 'k'], '$w', { on: sec });
      // 0-db lets SELECT reuse the challenge; ours hands each challenge out for one use (documented).
      await s.x(
        ['SELECT', 'p', 'SECURE', sha1(`${challenge2}:secret`)],
        s.ours ? '-No CHALLENGE requested, secure authentication not available' : '+OK',
        {
          on: sec,
          differs: true,
        },
      );

      // "*" clears the password.
      await s.x(['NSSET', 'p', 'password', '*'], '+OK');
      await nsinfo(s, 'p', { password: 'no', public: 'no' });
      const open = await s.client();
      await s.x(['SELECT', 'p'], '+OK', { on: open });
      await s.x(['SET', 'x', 'y'], '$x', { on: open });
      // Without a password, extra SELECT arguments are ignored.
      await s.x(['SELECT', 'p', 'anything', 'at', 'all'], '+OK', { on: open });
      await s.x(['NSSET', 'p', 'public', '1'], '+OK');
      await s.x(['NSSET', 'p', 'public', 'yes'], '+OK');
      await nsinfo(s, 'p', { public: 'no' });
      await s.x(['NSSET', 'p', 'public', '1x'], '+OK');
      await nsinfo(s, 'p', { public: 'yes' });
    },
  },
  {
    name: 'NSSET worm: overwrite and DEL refused, new keys allowed',
    async run(s) {
      await s.x(['NSNEW', 'w'], '+OK');
      await s.x(['SELECT', 'w'], '+OK');
      await s.x(['SET', 'a', '1'], '$a');
      await s.x(['NSSET', 'w', 'worm', '1'], '+OK');
      await nsinfo(s, 'w', { worm: 'yes' });
      await s.x(['SET', 'a', '2'], '-Namespace is protected by worm mode');
      await s.x(['SET', 'a', '1'], '-Namespace is protected by worm mode');
      await s.x(['SET', 'b', '1'], '$b');
      await s.x(['DEL', 'a'], '-Cannot delete a key when namespace is in worm mode');
      await s.x(['DEL', 'missing'], '-Key not found');
      await s.x(['GET', 'a'], '$1');
      await s.x(['NSSET', 'w', 'worm', '0'], '+OK');
      await s.x(['SET', 'a', '2'], '$a');
      await s.x(['DEL', 'b'], '+OK');
      await nsinfo(s, 'w', { worm: 'no', entries: '1' });
    },
  },
  {
    name: 'NSSET lock (writes refused) and freeze (reads and writes refused)',
    async run(s) {
      await s.x(['NSNEW', 'l'], '+OK');
      await s.x(['SELECT', 'l'], '+OK');
      await s.x(['SET', 'k', 'v', '1700000000'], '$k');
      await s.x(['NSSET', 'l', 'lock', '1'], '+OK');
      await nsinfo(s, 'l', { locked: 'yes' });
      await s.x(['SET', 'k', 'w'], LOCKED);
      await s.x(['SET', 'n', 'w'], LOCKED);
      await s.x(['DEL', 'k'], LOCKED);
      await s.x(['GET', 'k'], '$v');
      await s.x(['EXISTS', 'k'], ':1');
      await s.x(['SCAN'], [expect.stringMatching(/^\$/), [['$k', ':1', ':1700000000']]], {
        as: (r) => (r as Rendered[])[1],
      });
      await s.x(['NSSET', 'l', 'freeze', '1'], '+OK');
      await nsinfo(s, 'l', { locked: 'yes', entries: '1' });
      const cur = '\x01\x00\x00\x00\x00\x01\x00\x00\x00\x1d\x00\x00\x00\x00\x00\x00\x00';
      for (const args of [
        ['GET', 'k'],
        ['MGET', 'k', 'x'],
        ['EXISTS', 'k'],
        ['CHECK', 'k'],
        ['LENGTH', 'k'],
        ['KEYTIME', 'k'],
        ['KEYCUR', 'k'],
        ['SCAN'],
        ['SCAN', cur],
        ['RSCAN'],
        ['HISTORY', 'k'],
        ['SET', 'k', 'w'],
        ['SET', 'n', 'w'],
        ['DEL', 'k'],
      ]) {
        await s.x(args, FROZEN);
      }
      // HISTORY checks its argument count before the frozen state.
      await s.x(['HISTORY'], '-Invalid arguments');
      await s.x(['DBSIZE'], ':1');
      await s.x(['PING'], '+PONG');
      // lock and freeze share one switch: the last NSSET wins.
      await s.x(['NSSET', 'l', 'lock', '1'], '+OK');
      await s.x(['GET', 'k'], '$v');
      await s.x(['SET', 'k', 'w'], LOCKED);
      await s.x(['NSSET', 'l', 'freeze', '1'], '+OK');
      await s.x(['NSSET', 'l', 'lock', '0'], '+OK');
      await s.x(['GET', 'k'], '$v');
      await s.x(['SET', 'k', 'w'], '$k');
      await nsinfo(s, 'l', { locked: 'no' });
      await s.x(['NSSET', 'l', 'lock', 'yes'], '+OK');
      await s.x(['SET', 'k', 'x'], '$k');
      // lock and freeze work on default too.
      await s.x(['SELECT', 'default'], '+OK');
      await s.x(['NSSET', 'default', 'lock', '1'], '+OK');
      await s.x(['SET', 'k', 'v'], LOCKED);
      await s.x(['NSSET', 'default', 'freeze', '1'], '+OK');
      await s.x(['GET', 'k'], FROZEN);
      await s.x(['NSSET', 'default', 'freeze', '0'], '+OK');
      await s.x(['SET', 'k', 'v'], '$k');
    },
  },
  {
    name: 'NSSET checks, and what the default namespace refuses',
    async run(s) {
      await s.x(['NSNEW', 'x'], '+OK');
      await s.x(['NSSET', 'x', 'maxsize'], '-Unexpected arguments');
      await s.x(['NSSET', 'x', 'maxsize', '1', '2'], '-Unexpected arguments');
      await s.x(['NSSET', 'x', 'password', ''], '-Invalid argument');
      await s.x(['NSSET', 'nope', 'maxsize', '1'], '-Namespace not found');
      await s.x(['NSSET', 'n'.repeat(129), 'maxsize', '1'], '-Namespace too long');
      await s.x(['NSSET', 'x', 'password', 'p'.repeat(64)], '-Argument too long');
      await s.x(['NSSET', 'x', 'p'.repeat(257), '1'], '-Argument too long');
      await s.x(['NSSET', 'x', 'password', 'p'.repeat(63)], '+OK');
      await s.x(['NSSET', 'x', 'bogus', '1'], '-Invalid property');
      await s.x(['NSSET', 'x', 'MAXSIZE', '1'], '-Invalid property');
      await s.x(['NSSET', 'x', 'mode', 'bogus'], '-Invalid property value (expected: user, seq)');
      for (const [prop, value] of [
        ['maxsize', '10'],
        ['password', 'pw'],
        ['public', '0'],
        ['worm', '1'],
        ['bogus', '1'],
      ]) {
        await s.x(['NSSET', 'default', prop!, value!], '-Cannot update default namespace');
      }
      await s.x(['NSNEW', 'default'], '-This name is not allowed');
      await s.x(['NSDEL', 'default'], '-Cannot remove default namespace');
      await s.x(['FLUSH'], '-Flushing public namespace denied');
      await nsinfo(s, 'default', FRESH);
    },
  },
  {
    name: 'NSSET mode in mixed mode: only on a namespace never written',
    async run(s) {
      await s.x(['NSNEW', 'm'], '+OK');
      await s.x(['NSSET', 'm', 'mode', 'seq'], '+OK');
      await nsinfo(s, 'm', { mode: 'sequential' });
      await s.x(['NSSET', 'm', 'mode', 'user'], '+OK');
      await nsinfo(s, 'm', { mode: 'userkey' });
      await s.x(['NSSET', 'm', 'mode', 'seq'], '+OK');
      await s.x(['SELECT', 'm'], '+OK');
      await s.x(['SET', '', 'first'], `$${'\\x00'.repeat(8)}`);
      await s.x(['NSSET', 'm', 'mode', 'user'], '-Cannot change mode of used namespace');
      await s.x(['NSSET', 'm', 'mode', 'seq'], '-Cannot change mode of used namespace');
      // Even when everything written was deleted again.
      await s.x(['NSNEW', 'u'], '+OK');
      await s.x(['SELECT', 'u'], '+OK');
      await s.x(['SET', 'k', 'v'], '$k');
      await s.x(['DEL', 'k'], '+OK');
      await s.x(['DBSIZE'], ':0');
      await s.x(['NSSET', 'u', 'mode', 'seq'], '-Cannot change mode of used namespace');
      await nsinfo(s, 'u', { mode: 'userkey', entries: '0' });
      // The default namespace can change mode too.
      await s.x(['NSSET', 'default', 'mode', 'seq'], '+OK');
      await s.x(['SELECT', 'default'], '+OK');
      await s.x(['SET', '', 'v'], `$${'\\x00'.repeat(8)}`);
    },
  },
  {
    name: 'NSSET mode refused when the server runs with --mode',
    args: ['--mode', 'user'],
    async run(s) {
      await s.x(['NSNEW', 'm'], '+OK');
      await s.x(['NSSET', 'm', 'mode', 'seq'], '-This server instance is configured to use a single runtime mode');
      await s.x(['NSSET', 'm', 'mode', 'user'], '-This server instance is configured to use a single runtime mode');
      await s.x(['SET', '', 'v'], '-Invalid argument, key needed');
    },
  },
  {
    name: 'FLUSH: only a private namespace with a password; empties it (0-db 2.0.7 does not)',
    async run(s) {
      await s.x(['FLUSH'], '-Flushing public namespace denied');
      await s.x(['NSNEW', 'f'], '+OK');
      await s.x(['SELECT', 'f'], '+OK');
      await s.x(['SET', 'a', '1'], '$a');
      await s.x(['SET', 'b', '2'], '$b');
      await s.x(['FLUSH'], '-Flushing public namespace denied');
      await s.x(['NSSET', 'f', 'public', '0'], '+OK');
      await s.x(['FLUSH'], '-Flushing public namespace denied');
      await s.x(['NSSET', 'f', 'password', 'pw'], '+OK');
      await s.x(['NSSET', 'f', 'public', '1'], '+OK');
      await s.x(['FLUSH'], '-Flushing public namespace denied');
      await s.x(['NSSET', 'f', 'public', '0'], '+OK');
      await s.x(['SELECT', 'f', 'pw'], '+OK');
      await s.x(['FLUSH', 'extra', 'args'], '+OK');
      // 0-db 2.0.7's FLUSH deletes nothing (its cleaner looks for legacy file names).
      await s.x(['DBSIZE'], s.ours ? ':0' : ':2', { differs: true });
      await s.x(['GET', 'a'], s.ours ? 'nil' : '$1', { differs: true });
      await s.onlyOurs(async () => {
        await s.x(['SCAN'], '-No more data');
        await s.x(['SET', 'c', '3'], '$c');
        await s.x(['SCAN'], [expect.stringMatching(/^\$/), [['$c', ':1', expect.stringMatching(/^:\d+$/)]]]);
        await nsinfo(s, 'f', {
          entries: '1',
          data_size_bytes: '1',
          password: 'yes',
          public: 'no',
          data_current_offset: String(28 + 18 + 1 + 1),
        });
      });
    },
  },
  {
    name: 'DBSIZE counts live keys of the selected namespace',
    async run(s) {
      await s.x(['DBSIZE'], ':0');
      await s.x(['DBSIZE', 'ignored'], ':0');
      for (let i = 0; i < 5; i++) await s.x(['SET', `k${i}`, 'v'], `$k${i}`);
      await s.x(['SET', 'k0', 'w'], '$k0');
      await s.x(['DEL', 'k1'], '+OK');
      await s.x(['DBSIZE'], ':4');
      await s.x(['NSNEW', 'other'], '+OK');
      await s.x(['SELECT', 'other'], '+OK');
      await s.x(['DBSIZE'], ':0');
    },
  },
]);

// ---------------------------------------------------------------- admin password

const PW = 'adminpass';

defineScenarios('zdb server: --admin and AUTH', [
  {
    name: 'admin-only commands answer "-Permission denied" until AUTH',
    args: ['--admin', PW],
    async run(s) {
      await s.x(['SET', 'k', 'v'], '$k');
      await s.x(['GET', 'k'], '$v');
      for (const args of [
        ['NSNEW', 'a'],
        ['NSDEL', 'a'],
        ['NSSET', 'default', 'lock', '1'],
        ['NSJUMP'],
        ['SET', 'k', 'v', '1700000000'],
        ['DEL', 'k', '1700000000'],
      ]) {
        await s.x(args, '-Permission denied');
      }
      // Not admin-only.
      await s.x(['NSLIST'], ['$default']);
      await s.x(['DBSIZE'], ':1');
      await s.x(['SELECT', 'default'], '+OK');
      await s.x(['SCAN'], (r) => expect((r as Rendered[])[1]).toHaveLength(1), {
        as: (r) => (r as Rendered[])[1]!.length,
      });
      await s.x(['FLUSH'], '-Flushing public namespace denied');
      await s.x(
        ['INFO'],
        (r) => {
          expect(parseInfo(r).get('commands_unauthorized')).toBe('6');
        },
        { differs: true },
      );
      await nsinfo(s, 'default', { entries: '1', data_path: null, index_path: null, data_current_offset: null });

      await s.x(['AUTH'], '-Unexpected arguments');
      await s.x(['AUTH', 'a', 'b', 'c'], '-Unexpected arguments');
      await s.x(['AUTH', ''], '-Invalid argument');
      await s.x(['AUTH', 'x'.repeat(129)], '-Password too long');
      await s.x(['AUTH', 'wrong'], '-Access denied');
      await s.x(['AUTH', PW.slice(0, -1)], '-Access denied');
      await s.x(['AUTH', 'SECURE'], '-Access denied');
      await s.x(['NSNEW', 'a'], '-Permission denied');
      await s.x(['AUTH', PW], '+OK');
      await s.x(['NSNEW', 'a'], '+OK');
      await s.x(['SET', 'k', 'w', '1700000000'], '$k');
      await s.x(['KEYTIME', 'k'], ':1700000000');
      await s.x(['DEL', 'k', '1700000001'], '+OK');
      await s.x(['NSSET', 'a', 'maxsize', '5'], '+OK');
      await s.x(['NSJUMP'], '+OK');
      await nsinfo(s, 'default', {
        entries: '0',
        data_path: `${s.proc.dataDir}/default`,
        index_path: `${s.proc.indexDir}/default`,
        data_current_id: '1',
      });
      await s.x(['NSDEL', 'a'], '+OK');
      // Admin is per connection.
      const other = await s.client();
      await s.x(['NSNEW', 'b'], '-Permission denied', { on: other });
    },
  },
  {
    name: 'AUTH SECURE: challenge, sha1 of "challenge:password", single use',
    args: ['--admin', PW],
    async run(s) {
      const challenge = async (): Promise<string> =>
        (
          (await s.x(['AUTH', 'SECURE', 'CHALLENGE'], (r) => expect(r).toMatch(/^\+[0-9a-f]{16}$/), {
            as: () => 'challenge',
          })) as string
        ).slice(1);
      await s.x(['AUTH', 'SECURE', 'x'.repeat(40)], '-No CHALLENGE requested, secure authentication not available');
      await s.x(['AUTH', 'FOO', 'CHALLENGE'], '-Only SECURE extra method supported');
      await s.x(['AUTH', 'SECURE', ''], '-Invalid argument');
      let c = await challenge();
      const c2 = await challenge();
      expect(c2).not.toBe(c);
      c = c2;
      // A wrong length does not use the challenge up.
      await s.x(['AUTH', 'SECURE', 'abc'], '-Invalid hash length');
      // A wrong hash does.
      await s.x(['AUTH', 'SECURE', sha1(`${c}:wrong`)], '-Access denied');
      await s.x(['AUTH', 'SECURE', sha1(`${c}:${PW}`)], '-No CHALLENGE requested, secure authentication not available');
      await s.x(['NSNEW', 'a'], '-Permission denied');
      c = await challenge();
      await s.x(['AUTH', 'SECURE', sha1(`${PW}:${c}`)], '-Access denied');
      c = await challenge();
      await s.x(['AUTH', 'secure', sha1(`${c}:${PW}`)], '+OK');
      await s.x(['AUTH', 'SECURE', sha1(`${c}:${PW}`)], '-No CHALLENGE requested, secure authentication not available');
      await s.x(['NSNEW', 'a'], '+OK');
    },
  },
  {
    name: 'without --admin everyone is admin and AUTH is disabled',
    async run(s) {
      await s.x(['AUTH', 'anything'], '-Authentication disabled');
      await s.x(['AUTH', 'SECURE', 'CHALLENGE'], (r) => expect(r).toMatch(/^\+[0-9a-f]{16}$/), {
        as: () => 'challenge',
      });
      await s.x(['AUTH', 'SECURE', 'x'.repeat(40)], '-Authentication disabled');
      await s.x(['NSNEW', 'a'], '+OK');
      await s.x(['NSSET', 'a', 'worm', '1'], '+OK');
      await s.x(['SET', 'k', 'v', '1'], '$k');
      await s.x(['NSJUMP'], '+OK');
      await s.x(['NSDEL', 'a'], '+OK');
      await nsinfo(s, 'default', { data_current_id: '1', data_path: `${s.proc.dataDir}/default` });
    },
  },
  {
    name: '--protect: the default namespace is read-only without the admin password',
    args: ['--admin', PW, '--protect'],
    async run(s) {
      await s.x(['SELECT', 'default'], '+OK');
      await s.x(['SET', 'k', 'v'], RO);
      await s.x(['DEL', 'k'], RO);
      await s.x(['GET', 'k'], 'nil');
      await nsinfo(s, 'default', { password: 'yes', public: 'yes' });
      // AUTH makes a client admin, not a writer of default.
      await s.x(['AUTH', PW], '+OK');
      await s.x(['SET', 'k', 'v'], RO);
      await s.x(['SELECT', 'default', 'wrong'], '-Access denied');
      await s.x(['SELECT', 'default', PW], '+OK');
      await s.x(['SET', 'k', 'v'], '$k');
      const other = await s.client();
      await s.x(['SELECT', 'default'], '+OK', { on: other });
      await s.x(['GET', 'k'], '$v', { on: other });
      await s.x(['SET', 'k', 'w'], RO, { on: other });
      // Other namespaces are not protected.
      await s.x(['NSNEW', 'free'], '+OK');
      await s.x(['SELECT', 'free'], '+OK', { on: other });
      await s.x(['SET', 'k', 'w'], '$k', { on: other });
      // A new connection starts on default, read-only, without any SELECT.
      const fresh = await s.client();
      await s.x(['GET', 'k'], '$v', { on: fresh });
      await s.x(['SET', 'k', 'x'], RO, { on: fresh });
      await s.x(['DEL', 'k'], RO, { on: fresh });
      await s.x(['GET', 'k'], '$v', { on: fresh });
    },
  },
  {
    name: '--maxsize limits the default namespace',
    args: ['--maxsize', '10'],
    async run(s) {
      await nsinfo(s, 'default', { data_limits_bytes: '10', space_available: '10' });
      await s.x(['SET', 'a', '12345678901'], '-No space left on this namespace');
      await s.x(['SET', 'a', '1234567890'], '$a');
      await s.x(['SET', 'b', '1'], '-No space left on this namespace');
      await s.x(['NSNEW', 'other'], '+OK');
      await s.x(['SELECT', 'other'], '+OK');
      await s.x(['SET', 'b', '12345678901'], '$b');
    },
  },
]);
