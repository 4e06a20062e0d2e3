/**
 * Where a process's CPU went, by stage of the data path, from `node --cpu-prof` profiles (one
 * per thread: the gateway's main thread and each pipeline worker write their own file).
 *
 *   node dist/bench/profile-stages.js FILE.cpuprofile|DIR ...
 *
 * Each sample's stack is read from the leaf up and given the stage of the first frame a rule
 * knows (node:crypto's cipher is AEAD wherever it is called from; a hash is told apart by who
 * called it: the payload check, the store's ETag, a checksum). Time is the samples' own
 * intervals, so a thread's idle time is "(idle)" and not counted in the total.
 *
 * The intervals are wall time while the thread runs JS or native code called from it: on a
 * machine busier than its cores, a descheduled thread's time lands in whatever it was doing. The
 * shares hold; to get CPU-seconds, scale them by the process's utime+stime over the same run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fmt, printTable } from './common.js';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

type Rule = [stage: string, test: (f: CallFrame) => boolean];

const url = (part: string) => (f: CallFrame) => f.url.includes(part);
const fn = (name: string) => (f: CallFrame) => f.functionName === name;

/** Callers that say which hash a hash update belongs to; checked above a node:crypto hash frame. */
const HASH_CALLERS: Rule[] = [
  ['SHA-256 (signed payload)', url('gateway/auth/payload.js')],
  ['SHA-256 (aws-chunked signatures)', url('gateway/auth/aws-chunked.js')],
  ['checksums (x-amz-checksum-*)', url('gateway/auth/checksums.js')],
  ['MD5 (ETag)', url('src/store/')],
];

/** Leaf-to-root: the first frame matching a rule names the stage. */
const RULES: Rule[] = [
  ['GC', fn('(garbage collector)')],
  ['(idle)', fn('(idle)')],
  ['(idle)', fn('atomicsWaitLoop')], // a piscina worker waiting for its next task
  ['AEAD (AES-256-GCM)', url('internal/crypto/cipher')],
  ['AEAD (AES-256-GCM)', url('src/util/aes-gcm.js')], // libcrypto through koffi: no frame of its own
  ['hash', url('internal/crypto/hash')],
  ['CRC32C (shards)', url('@node-rs/crc32')],
  ['CRC32C (shards)', fn('shardCrc')], // the native crc32c() has no frame of its own
  ['checksums (x-amz-checksum-*)', url('gateway/auth/checksums.js')],
  ['zstd', url('zstd-napi')],
  ['zstd', url('src/pipeline/compress.js')],
  ['RS (erasure coding)', url('src/erasure/')],
  ['RS (erasure coding)', (f) => f.url.startsWith('wasm://')],
  ['pipeline (shards, copies, transfer)', url('src/pipeline/')],
  ['piscina (thread messages)', url('piscina')],
  ['zdb client (RESP, writev, read)', url('src/zdb-client/')],
  ['zdb client (RESP, writev, read)', url('src/resp/')],
  ['store (chunk writes/reads, manifest)', url('src/store/')],
  ['metadata (sqlite)', url('src/meta/')],
  ['SigV4 / body verification', url('gateway/auth/')],
  ['gateway (routing, S3 ops)', url('gateway/')],
  ['HTTP (node:http)', (f) => /node:_http|internal\/http/.test(f.url)],
  ['sockets and streams', (f) => /node:net|node:stream|internal\/streams|node:internal\/stream_base/.test(f.url)],
  ['(program: native, unattributed)', fn('(program)')],
];

function stageOf(stack: CallFrame[]): string {
  for (let i = 0; i < stack.length; i++) {
    const frame = stack[i]!;
    const rule = RULES.find(([, test]) => test(frame));
    if (!rule) continue;
    if (rule[0] !== 'hash') return rule[0];
    for (const caller of stack.slice(i + 1)) {
      const who = HASH_CALLERS.find(([, test]) => test(caller));
      if (who) return who[0];
    }
    return 'hash (other)';
  }
  return 'other JS / node internals';
}

/** Milliseconds per stage of one profile. */
export function stages(profile: Profile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageById = new Map<number, string>();
  const resolve = (id: number): string => {
    let s = stageById.get(id);
    if (s === undefined) {
      const stack: CallFrame[] = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(byId.get(at)!.callFrame);
      s = stageOf(stack);
      stageById.set(id, s);
    }
    return s;
  };
  const out = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const s = resolve(id);
    out.set(s, (out.get(s) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return out;
}

function main(): void {
  const files = process.argv.slice(2).flatMap((a) =>
    fs.statSync(a).isDirectory()
      ? fs
          .readdirSync(a)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => path.join(a, f))
      : [a],
  );
  if (files.length === 0) throw new Error('usage: profile-stages FILE.cpuprofile|DIR ...');
  const total = new Map<string, number>();
  const perFile: string[][] = [];
  for (const file of files) {
    const s = stages(JSON.parse(fs.readFileSync(file, 'utf8')) as Profile);
    const busy = [...s].filter(([k]) => k !== '(idle)').reduce((a, [, v]) => a + v, 0);
    perFile.push([path.basename(file), fmt(busy / 1000, 2)]);
    for (const [k, v] of s) total.set(k, (total.get(k) ?? 0) + v);
  }
  const busy = [...total].filter(([k]) => k !== '(idle)').reduce((a, [, v]) => a + v, 0);
  printTable(['profile (thread)', 'busy CPU-s'], perFile);
  console.log('');
  printTable(
    ['stage', 'CPU-s', 'share'],
    [...total]
      .filter(([k]) => k !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [k, fmt(v / 1000, 2), `${fmt((100 * v) / busy, 1)}%`])
      .concat([['total (busy)', fmt(busy / 1000, 2), '100%']]),
  );
}

main();
