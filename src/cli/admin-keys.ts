import crypto from 'node:crypto';
import { sealSecret } from '../pipeline/keys.js';
import { withStore } from '../data-dir/local-store.js';
import { CliError } from './errors.js';

/**
 * `qstor admin key create`: an access key other than root (its secret sealed under the master key), printed once.
 * Every change of a key or its grants is also written to the metadata copies on the backends
 * (`MetaReplica.putAccessKey`), so `qstor meta rebuild` restores it.
 */
export async function keyCreate(o: { data: string; name: string; createBuckets: boolean }): Promise<void> {
  await withStore(o.data, async (s) => {
    const id = 'QK' + crypto.randomBytes(12).toString('hex').toUpperCase().slice(0, 18);
    const secret = crypto.randomBytes(30).toString('base64');
    await s.meta.createAccessKey(id, sealSecret(s.masterKey, id, secret), o.name, o.createBuckets);
    await s.store.replica.putAccessKey(s.meta, id);
    process.stdout.write(
      `AWS_ACCESS_KEY_ID=${id}\nAWS_SECRET_ACCESS_KEY=${secret}\n(the secret is shown once; grant buckets with: qstor admin bucket allow BUCKET --key ${id} --read --write)\n`,
    );
  });
}

/**
 * `qstor admin key allow|deny KEY --create-buckets`: the key's account-level rights. A key that
 * may create buckets owns those it creates (read, write and owner grants on each); taking the
 * right back leaves it the buckets it made.
 */
export async function keyRight(
  action: 'allow' | 'deny',
  keyId: string,
  o: { data: string; createBuckets: boolean },
): Promise<void> {
  if (!o.createBuckets) throw new CliError('USAGE', `qstor admin key ${action}: name --create-buckets`);
  await withStore(o.data, async (s) => {
    await s.meta.setCreateBuckets(keyId, action === 'allow');
    await s.store.replica.putAccessKey(s.meta, keyId);
    process.stdout.write(`${keyId}: ${action === 'allow' ? 'may' : 'may not'} create buckets\n`);
  });
}

/** `qstor admin key list`: every key with its right to create buckets, if it has it, and its buckets. */
export async function keyList(o: { data: string }): Promise<void> {
  await withStore(o.data, async (s) => {
    for (const k of await s.meta.listAccessKeys()) {
      const grants = (await s.meta.listGrants(k.accessKeyId)).map((g) => `${g.bucket}:${flags(g.permissions)}`);
      const rights = k.createBuckets ? 'create-buckets  ' : '';
      process.stdout.write(
        `${k.accessKeyId}  ${k.name || '-'}  ${new Date(k.created).toISOString()}  ${rights}${grants.join(' ') || '(no buckets)'}\n`,
      );
    }
  });
}

export async function keyDelete(keyId: string, o: { data: string }): Promise<void> {
  await withStore(o.data, async (s) => {
    await s.meta.deleteAccessKey(keyId);
    await s.store.replica.putAccessKey(s.meta, keyId);
    process.stdout.write(`deleted ${keyId}\n`);
  });
}

function flags(p: { read: boolean; write: boolean; owner: boolean }): string {
  return [p.read ? 'read' : '', p.write ? 'write' : '', p.owner ? 'owner' : ''].filter(Boolean).join(',') || 'none';
}

export interface GrantOptions {
  data: string;
  key: string;
  read: boolean;
  write: boolean;
  owner: boolean;
}

/** `qstor admin bucket allow|deny BUCKET --key K [--read] [--write] [--owner]`. */
export async function bucket(action: 'allow' | 'deny', name: string, o: GrantOptions): Promise<void> {
  if (!(o.read || o.write || o.owner))
    throw new CliError('USAGE', `qstor admin bucket ${action}: name at least one of --read, --write, --owner`);
  await withStore(o.data, async (s) => {
    const wanted = { read: o.read, write: o.write, owner: o.owner };
    const now = await (action === 'allow' ? s.meta.allow(o.key, name, wanted) : s.meta.deny(o.key, name, wanted));
    await s.store.replica.putAccessKey(s.meta, o.key);
    process.stdout.write(`${o.key} on ${name}: ${flags(now)}\n`);
  });
}
