import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { publicKeySchema, rightsSchema } from '../agent/grants.js';
import { RegistryClient, type NodeView } from '../agent/registry/client.js';
import { check } from '../agent/validate.js';
import { num } from '../util/schema.js';
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

const FARM_USAGE = `usage:
  qstor admin farm create --name N [--registry URL] [--admin-token T | --admin-token-file F]
  qstor admin farm admit --store KEY --rights storage[,compute] [--node ID] [--days D] [--farm F] [--farm-token T | --farm-token-file F]
  qstor admin farm revoke --store KEY [--farm F] [--farm-token T | --farm-token-file F]
  qstor admin farm stores [--farm F] [--farm-token T | --farm-token-file F]`;

const FARMER_OPTIONS = {
  registry: { type: 'string' },
  farm: { type: 'string' },
  'farm-token': { type: 'string' },
  'farm-token-file': { type: 'string' },
  store: { type: 'string' },
  rights: { type: 'string' },
  node: { type: 'string' },
  days: { type: 'string' },
} as const;

/** `qstor admin farm create|admit|revoke|stores`: the operator makes farms; each farmer admits the stores its nodes serve. */
export async function farm(argv: string[]): Promise<void> {
  const [action, ...rest] = argv;
  if (action === 'create') return createFarm(rest);
  if (action !== 'admit' && action !== 'revoke' && action !== 'stores') throw new CliError('USAGE', FARM_USAGE);
  const { values } = parseArgs({ args: rest, options: FARMER_OPTIONS });
  const { client, token, farmId } = connectFarmer(values);
  if (action === 'stores') {
    for (const a of await client.listAdmissions(token, farmId)) {
      process.stdout.write(`${a.store}  ${a.rights.join(',')}  node ${a.node ?? 'any'}  until ${a.expires === null ? 'revoked' : new Date(a.expires).toISOString()}\n`);
    }
    return;
  }
  if (!values.store) throw new CliError('USAGE', FARM_USAGE);
  const store = check(publicKeySchema, values.store, '--store');
  if (action === 'revoke') {
    await client.revokeStore(token, farmId, store);
    process.stdout.write(`store ${store} no longer admitted in farm ${farmId} (grants already issued run out within the hour)\n`);
    return;
  }
  if (!values.rights) throw new CliError('USAGE', FARM_USAGE);
  const days = values.days === undefined ? undefined : check(num(0.001), Number(values.days), '--days');
  const a = await client.admitStore(token, farmId, {
    store,
    rights: check(rightsSchema, values.rights.split(','), '--rights'),
    node: values.node === undefined ? undefined : check(publicKeySchema, values.node, '--node'),
    expires: days === undefined ? undefined : Date.now() + Math.round(days * 86_400_000),
  });
  process.stdout.write(`store ${a.store} admitted in farm ${a.farmId} for ${a.rights.join(', ')} on ${a.node ? `node ${a.node}` : 'every node'}${a.expires === null ? '' : ` until ${new Date(a.expires).toISOString()}`}\n`);
}

/** The farmer's token (flag, file, or QSTOR_FARM_TOKEN) and the farm it opens; `--farm`, when given, must be that farm. */
function connectFarmer(values: { registry?: string; farm?: string; 'farm-token'?: string; 'farm-token-file'?: string }): { client: RegistryClient; token: string; farmId: number } {
  const token = values['farm-token'] ?? (values['farm-token-file'] ? fs.readFileSync(values['farm-token-file'], 'utf8').trim() : process.env['QSTOR_FARM_TOKEN']);
  if (!token) throw new CliError('INVALID_OPTION', 'the farmer token: --farm-token T, --farm-token-file F or QSTOR_FARM_TOKEN');
  const farmId = Number(/^(\d+)\./.exec(token)?.[1]);
  if (!Number.isSafeInteger(farmId)) throw new CliError('INVALID_OPTION', 'a farmer token is <farmId>.<secret>, as qstor admin farm create printed it');
  if (values.farm !== undefined && Number(values.farm) !== farmId) throw new CliError('INVALID_OPTION', `--farm ${values.farm}: the farmer token is farm ${farmId}'s`);
  return { client: new RegistryClient(values.registry ?? process.env['QSTOR_REGISTRY'] ?? 'http://127.0.0.1:9800'), token, farmId };
}

/** `qstor admin farm create --name N`: prints the farm id and its farmer token (shown once). */
async function createFarm(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { ...OPTIONS, name: { type: 'string' } } });
  if (!values.name) throw new CliError('USAGE', FARM_USAGE);
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
