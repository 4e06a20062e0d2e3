import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { RegistryClient, type NodeView } from '../agent/registry/client.js';
import { CliError } from './errors.js';

const OPTIONS = {
  registry: { type: 'string' },
  'admin-token': { type: 'string' },
  'admin-token-file': { type: 'string' },
} as const;

/** The registry and its admin token: flags, else QSTOR_REGISTRY / QSTOR_REGISTRY_ADMIN_TOKEN, else the local default. */
function connect(values: { registry?: string; 'admin-token'?: string; 'admin-token-file'?: string }): { client: RegistryClient; token: string } {
  const token = values['admin-token'] ?? (values['admin-token-file'] ? fs.readFileSync(values['admin-token-file'], 'utf8').trim() : process.env['QSTOR_REGISTRY_ADMIN_TOKEN']);
  if (!token) throw new CliError('USAGE', 'the registry admin token: --admin-token T, --admin-token-file F or QSTOR_REGISTRY_ADMIN_TOKEN');
  return { client: new RegistryClient(values.registry ?? process.env['QSTOR_REGISTRY'] ?? 'http://127.0.0.1:9800'), token };
}

/** `qstor admin farm create --name N`: prints the farm id and its farmer token (shown once). */
export async function farm(argv: string[]): Promise<void> {
  const [action, ...rest] = argv;
  const { values } = parseArgs({ args: rest, options: { ...OPTIONS, name: { type: 'string' } } });
  if (action !== 'create' || !values.name) throw new CliError('USAGE', 'usage: qstor admin farm create --name N [--registry URL] [--admin-token T | --admin-token-file F]');
  const { client, token } = connect(values);
  const r = await client.createFarm(token, values.name);
  process.stdout.write(`farm ${r.farmId} (${values.name})\nfarmer token: ${r.farmerToken}\n(shown once: put it in each agent's config as "farmToken")\n`);
}

/** `qstor admin nodes`: every node with its disks, space, last heartbeat and state. */
export async function nodes(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: OPTIONS });
  const { client, token } = connect(values);
  const list = await client.listNodes(token);
  process.stdout.write(nodeTable(list.nodes, list.now));
}

function gib(n: number): string {
  return `${(n / 2 ** 30).toFixed(1)} GiB`;
}

/** USED is what the node's zdbs hold; FREE is what their disks have left. */
function nodeTable(list: NodeView[], now: number): string {
  const rows = [['NODE', 'FARM', 'ADDRESSES', 'DISKS', 'USED', 'FREE', 'LAST HEARTBEAT', 'STATE']];
  for (const n of list) {
    const disks = n.capacity.disks;
    const up = disks.filter((d) => d.zdb.state === 'up').length;
    rows.push([
      n.id.slice(0, 16),
      `${n.farmId} ${n.farmName}`,
      n.addresses.join(','),
      `${disks.length} (${up} up)`,
      gib(disks.reduce((s, d) => s + d.zdb.usedBytes, 0)),
      gib(disks.reduce((s, d) => s + d.freeBytes, 0)),
      `${new Date(n.lastHeartbeat).toISOString()} (${Math.max(0, Math.round((now - n.lastHeartbeat) / 1000))}s ago)`,
      n.state,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}
