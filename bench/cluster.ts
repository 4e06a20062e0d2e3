/**
 * A node's failure and its repair on a grid found through the registry: 3 farms of 2 nodes,
 * 2 disks each, every node a real `qstor agent` process with its zdbs (durable, --sync); the
 * registry and the store (ObjectStore over the discovered backends, 4+2) in this process.
 *
 *   node dist/bench/cluster.js [--size GiB] [--object MiB] [--quick] [--json FILE]
 *
 * 1. quiet: PUT --size of data (objects of --object MiB) and GET a quarter of it back: MB/s.
 * 2. one node (its agent and both zdbs) killed with SIGKILL. Its heartbeats stop, the registry
 *    marks it down, the store holds its backends down, and a repair pass (grace 0, no rate
 *    limit) rebuilds its shards on the other nodes while a foreground reader GETs objects.
 *    Time from the kill to full redundancy (a second pass finds nothing below it), repair
 *    MB/s (bytes of shards rebuilt over the pass), foreground GET MB/s during the pass.
 * Targets: repair >= 0.5x the quiet PUT MB/s; foreground GET >= 0.7x the quiet GET MB/s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createRegistryServer, identityFromSeed, Signer } from '../src/agent/index.js';
import { Discovery } from '../src/cluster/discovery.js';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';
import { PipelinePool } from '../src/pipeline/pool.js';
import { Scrubber } from '../src/repair/scrubber.js';
import { BackendPool } from '../src/store/backend-pool.js';
import { ObjectStore } from '../src/store/object-store.js';
import { fmt, freePorts, printTable, textLike } from './common.js';

const MiB = 1 << 20;
const QSTOR = fileURLToPath(new URL('../../bin/qstor.js', import.meta.url));
const TARGET = { repairVsPut: 0.5, getDuringRepair: 0.7 };

interface Node {
  dir: string;
  child: ChildProcess;
  disks: string[];
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startNode(dir: string, registry: string, farmToken: string): Promise<Node> {
  const disks = [0, 1].map((i) => path.join(dir, `disk${i}`));
  for (const d of disks) fs.mkdirSync(d, { recursive: true });
  const config = {
    registry,
    farmToken,
    disks,
    listenHost: '127.0.0.1',
    listenPort: await freePorts(1),
    zdbBasePort: await freePorts(2),
    zdbListen: '127.0.0.1',
    stateDir: path.join(dir, 'state'),
    addresses: ['127.0.0.1'],
    heartbeatSeconds: 0.5,
  };
  fs.writeFileSync(path.join(dir, 'agent.json'), JSON.stringify(config));
  const log = fs.openSync(path.join(dir, 'agent.log'), 'a');
  const child = spawn(process.execPath, [QSTOR, 'agent', '--config', path.join(dir, 'agent.json')], {
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  return { dir, child, disks };
}

function body(size: number, seed: number): Buffer {
  // Half random, half text: as bench/store, so zstd works on half of it.
  const out = Buffer.allocUnsafe(size);
  crypto.randomFillSync(out, 0, size >> 1);
  textLike(size - (size >> 1), seed).copy(out, size >> 1);
  return out;
}

async function* once(piece: Buffer): AsyncGenerator<Buffer> {
  yield piece;
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const piece of stream) n += piece.length;
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string' },
      object: { type: 'string', default: '64' },
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
    },
  });
  const objectBytes = Number(values.object) * MiB;
  const total = Number(values.size ?? (values.quick ? 0.5 : 10)) * 1024 * MiB;
  const count = Math.max(4, Math.round(total / objectBytes));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-bench-cluster-'));
  const nodes: Node[] = [];
  const registry = await createRegistryServer({
    dbPath: path.join(dir, 'meta.db'),
    adminToken: crypto.randomBytes(24).toString('hex'),
    downAfterMs: 2000,
    logger: pino({ level: 'warn' }),
  });
  const meta = new SqliteMetaStore(path.join(dir, 'meta.db'));
  const pool = new BackendPool([], { requestTimeoutMs: 5000, downAfterFailures: 1 });
  const pipeline = new PipelinePool();
  try {
    const url = `http://127.0.0.1:${await registry.listen(0)}`;
    const farms: Array<{ farmId: number; farmerToken: string }> = [];
    for (const name of ['farm-a', 'farm-b', 'farm-c']) farms.push(await registry.registry.createFarm(name));
    for (let i = 0; i < 6; i++) nodes.push(await startNode(path.join(dir, `node${i}`), url, farms[i % 3]!.farmerToken));
    await until(
      '12 zdbs up in the registry',
      async () => (await registry.registry.listBackends()).filter((b) => b.state === 'up').length === 12,
      60_000,
    );
    const masterKey = crypto.randomBytes(32);
    const store = new ObjectStore({ meta, backends: pool, pipeline, masterKey });
    const signer = new Signer(identityFromSeed(crypto.randomBytes(32)));
    // Agents serve only stores their farmer admitted.
    for (const f of farms) await registry.registry.admitStore(f.farmId, { store: signer.id, rights: ['storage'] });
    const discovery = new Discovery({
      registry: registry.registry,
      pool,
      meta,
      masterKey,
      signer,
      namespaceBytes: 2 * total,
      log: () => {},
    });
    await discovery.sync();
    await pool.refresh();
    await store.createBucket('b');
    console.log(
      `cluster: 6 agents (3 farms x 2 nodes x 2 disks), ${pool.list().length} backends; ${count} objects of ${values.object} MiB (${fmt((count * objectBytes) / 2 ** 30, 2)} GiB), 4+2, ${os.availableParallelism()} cores`,
    );

    const sample = body(objectBytes, 7);
    let t = performance.now();
    for (let i = 0; i < count; i++) {
      // A fresh copy each time: the store hands whole buffers to its workers by transfer.
      await store.put('b', `o${i}`, once(Buffer.from(sample)));
    }
    const putS = (performance.now() - t) / 1000;
    const putMBs = (count * objectBytes) / 1e6 / putS;
    console.log(`  quiet PUT: ${fmt(putMBs)} MB/s (${fmt(putS, 1)} s)`);
    const reads = Math.max(2, count >> 2);
    t = performance.now();
    for (let i = 0; i < reads; i++) await drain((await store.get('b', `o${i}`)).body);
    const getS = (performance.now() - t) / 1000;
    const getMBs = (reads * objectBytes) / 1e6 / getS;
    console.log(`  quiet GET: ${fmt(getMBs)} MB/s (${fmt(getS, 1)} s)`);

    // ---- a node fails
    const victim = nodes[1]!;
    const victimId = identityFromSeed(fs.readFileSync(path.join(victim.dir, 'state', 'identity.key'))).id;
    const zdbPids = victim.disks.map((d) => Number(fs.readFileSync(path.join(d, 'zdb', 'zdb.pid'), 'utf8')));
    const killed = performance.now();
    victim.child.kill('SIGKILL');
    for (const pid of zdbPids) process.kill(pid, 'SIGKILL');
    await until(
      'the node down in the registry',
      async () =>
        (await registry.registry.listBackends()).filter((b) => b.nodeId === victimId).every((b) => b.state === 'down'),
      30_000,
    );
    await discovery.sync();
    const detectedS = (performance.now() - killed) / 1000;
    console.log(
      `  node ${victimId.slice(0, 12)} killed; down in the registry and held down in the pool after ${fmt(detectedS, 1)} s`,
    );

    let lostShards = 0; // bytes of the shards the node held: what repair must rebuild
    for (let i = 0; i < count; i++) {
      for (const c of (await meta.getObject('b', `o${i}`))!.chunks)
        for (const sh of c.shards) if (pool.get(sh.backend)!.node === victimId) lostShards += c.shardSize;
    }
    let foreground = 0;
    let repairing = true;
    const reader = (async () => {
      for (let i = 0; repairing; i = (i + 1) % count) foreground += await drain((await store.get('b', `o${i}`)).body);
    })();
    const r0 = performance.now();
    const pass = await new Scrubber({ meta, backends: pool, pipeline }, { graceMs: 0, chunksPerSecond: 0 }).pass();
    const repairS = (performance.now() - r0) / 1000;
    repairing = false;
    await reader;
    const check = await new Scrubber(
      { meta, backends: pool, pipeline },
      { graceMs: 0, chunksPerSecond: 0, repair: false },
    ).pass();
    const fullS = (performance.now() - killed) / 1000;
    if (pass.failed > 0 || check.belowRedundancy > 0 || check.repaired > 0)
      throw new Error(`repair incomplete: ${JSON.stringify({ pass, check })}`);
    const repairMBs = lostShards / 1e6 / repairS;
    // The stored data brought back to full redundancy: each repaired chunk's k data shards.
    const restoredMBs = (count * objectBytes * (pass.repaired / check.chunks)) / 1e6 / repairS;
    const fgMBs = foreground / 1e6 / repairS;
    console.log(
      `  repair: ${pass.repaired} chunks, ${pass.shardsRebuilt} shards (${fmt(lostShards / MiB)} MiB) in ${fmt(repairS, 1)} s; second pass: all ${check.chunks} chunks at full redundancy`,
    );

    const rows = [
      ['quiet PUT, MB/s', fmt(putMBs), '', ''],
      ['quiet GET, MB/s', fmt(getMBs), '', ''],
      ['failure detected (registry down, pool held), s', fmt(detectedS, 1), '', ''],
      ['failure to full redundancy, s', fmt(fullS, 1), '', ''],
      [
        'repair throughput (shard bytes rebuilt), MB/s',
        fmt(repairMBs),
        `${fmt(repairMBs / putMBs, 2)}x PUT`,
        `>= ${TARGET.repairVsPut}x ${repairMBs / putMBs >= TARGET.repairVsPut ? 'pass' : 'FAIL'}`,
      ],
      [
        'stored data brought back to full redundancy, MB/s',
        fmt(restoredMBs),
        `${fmt(restoredMBs / putMBs, 2)}x PUT`,
        '',
      ],
      [
        'foreground GET during repair, MB/s',
        fmt(fgMBs),
        `${fmt(fgMBs / getMBs, 2)}x quiet`,
        `>= ${TARGET.getDuringRepair}x ${fgMBs / getMBs >= TARGET.getDuringRepair ? 'pass' : 'FAIL'}`,
      ],
    ];
    console.log('');
    printTable(['measure', 'value', 'ratio', 'target'], rows);
    console.log(
      `\n  store API in this process (no S3 layer); zdb --sync on local disks; 2 cores shared by the store, 12 zdbs and 6 agents.`,
    );
    if (values.json) {
      fs.writeFileSync(
        values.json,
        JSON.stringify(
          {
            objects: count,
            objectBytes,
            putMBs,
            getMBs,
            detectedS,
            fullRedundancyS: fullS,
            repairS,
            repairMBs,
            restoredMBs,
            foregroundGetMBs: fgMBs,
            rebuiltBytes: lostShards,
            pass,
            check,
            targets: TARGET,
          },
          null,
          2,
        ) + '\n',
      );
    }
  } finally {
    for (const n of nodes) n.child.kill('SIGTERM');
    await Promise.all(
      nodes.map((n) =>
        n.child.exitCode === null && n.child.signalCode === null
          ? new Promise((r) => n.child.once('exit', r))
          : Promise.resolve(),
      ),
    );
    await pool.close();
    await pipeline.close();
    await meta.close();
    await registry.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
