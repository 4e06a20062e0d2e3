import fs from 'node:fs';
import { publicKeySchema, rightsSchema } from '../agent/grants.js';
import { RegistryClient, type NodeView } from '../agent/registry/client.js';
import { check } from '../agent/validate.js';
import { CliError } from './errors.js';

/** The operator's connection: `--registry`, `--admin-token` or `--admin-token-file`. */
export interface RegistryOptions {
  registry?: string;
  adminToken?: string;
  adminTokenFile?: string;
}

/** A farmer's connection: `--registry`, `--farm`, `--farm-token` or `--farm-token-file`. */
export interface FarmerOptions {
  registry?: string;
  farm?: string;
  farmToken?: string;
  farmTokenFile?: string;
}

/** The registry and its admin token: flags, else QSTOR_REGISTRY / QSTOR_REGISTRY_ADMIN_TOKEN, else the local default. */
function connect(o: RegistryOptions): { client: RegistryClient; token: string } {
  const token =
    o.adminToken ??
    (o.adminTokenFile ? fs.readFileSync(o.adminTokenFile, 'utf8').trim() : process.env['QSTOR_REGISTRY_ADMIN_TOKEN']);
  if (!token)
    throw new CliError(
      'USAGE',
      'the registry admin token: --admin-token T, --admin-token-file F or QSTOR_REGISTRY_ADMIN_TOKEN',
    );
  return { client: new RegistryClient(o.registry ?? process.env['QSTOR_REGISTRY'] ?? DEFAULT_REGISTRY), token };
}

export const DEFAULT_REGISTRY = 'http://127.0.0.1:9800';

/** `qstor admin farm stores`: the stores the farm admitted. */
export async function farmStores(o: FarmerOptions): Promise<void> {
  const { client, token, farmId } = connectFarmer(o);
  for (const a of await client.listAdmissions(token, farmId)) {
    process.stdout.write(
      `${a.store}  ${a.rights.join(',')}  node ${a.node ?? 'any'}  until ${a.expires === null ? 'revoked' : new Date(a.expires).toISOString()}\n`,
    );
  }
}

/** `qstor admin farm revoke --store KEY`. */
export async function farmRevoke(o: FarmerOptions & { store: string }): Promise<void> {
  const { client, token, farmId } = connectFarmer(o);
  const store = check(publicKeySchema, o.store, '--store');
  await client.revokeStore(token, farmId, store);
  process.stdout.write(
    `store ${store} no longer admitted in farm ${farmId} (grants already issued run out within the hour)\n`,
  );
}

/** `qstor admin farm admit --store KEY --rights R`: the farm's agents serve that store. */
export async function farmAdmit(
  o: FarmerOptions & { store: string; rights: string; node?: string; days?: number },
): Promise<void> {
  const { client, token, farmId } = connectFarmer(o);
  const a = await client.admitStore(token, farmId, {
    store: check(publicKeySchema, o.store, '--store'),
    rights: check(rightsSchema, o.rights.split(','), '--rights'),
    node: o.node === undefined ? undefined : check(publicKeySchema, o.node, '--node'),
    expires: o.days === undefined ? undefined : Date.now() + Math.round(o.days * 86_400_000),
  });
  process.stdout.write(
    `store ${a.store} admitted in farm ${a.farmId} for ${a.rights.join(', ')} on ${a.node ? `node ${a.node}` : 'every node'}${a.expires === null ? '' : ` until ${new Date(a.expires).toISOString()}`}\n`,
  );
}

/** The farmer's token (flag, file, or QSTOR_FARM_TOKEN) and the farm it opens; `--farm`, when given, must be that farm. */
function connectFarmer(o: FarmerOptions): { client: RegistryClient; token: string; farmId: number } {
  const token =
    o.farmToken ??
    (o.farmTokenFile ? fs.readFileSync(o.farmTokenFile, 'utf8').trim() : process.env['QSTOR_FARM_TOKEN']);
  if (!token)
    throw new CliError('INVALID_OPTION', 'the farmer token: --farm-token T, --farm-token-file F or QSTOR_FARM_TOKEN');
  const farmId = Number(/^(\d+)\./.exec(token)?.[1]);
  if (!Number.isSafeInteger(farmId))
    throw new CliError('INVALID_OPTION', 'a farmer token is <farmId>.<secret>, as qstor admin farm create printed it');
  if (o.farm !== undefined && Number(o.farm) !== farmId)
    throw new CliError('INVALID_OPTION', `--farm ${o.farm}: the farmer token is farm ${farmId}'s`);
  return { client: new RegistryClient(o.registry ?? process.env['QSTOR_REGISTRY'] ?? DEFAULT_REGISTRY), token, farmId };
}

/** `qstor admin farm create --name N`: prints the farm id and its farmer token (shown once). */
export async function farmCreate(o: RegistryOptions & { name: string }): Promise<void> {
  const { client, token } = connect(o);
  const r = await client.createFarm(token, o.name);
  process.stdout.write(
    `farm ${r.farmId} (${o.name})\nfarmer token: ${r.farmerToken}\n(shown once: put it in each agent's config as "farmToken")\n`,
  );
}

/** `qstor admin nodes`: every node with its disks, space, last heartbeat and state. */
export async function nodes(o: RegistryOptions): Promise<void> {
  const { client, token } = connect(o);
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
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
