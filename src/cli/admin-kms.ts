import { keyArn } from '../kms/keyring.js';
import { withStore } from '../data-dir/local-store.js';
import { CliError } from './errors.js';

/**
 * `qstor admin kms create|list|delete`: the KMS keys SSE-KMS objects are wrapped with (src/kms).
 * A key is never printed: create prints its id and ARN. Every change is also written to the
 * metadata copies on the backends (`MetaReplica.putKmsKey`), so `qstor meta rebuild` restores it.
 */
export async function kmsCreate(id: string, o: { data: string }): Promise<void> {
  await withStore(o.data, async (s) => {
    await s.store.kms.create(id);
    await s.store.replica.putKmsKey(s.meta, id);
    process.stdout.write(`KMS_KEY_ID=${id}\nKMS_KEY_ARN=${keyArn(id)}\n`);
  });
}

export async function kmsList(o: { data: string }): Promise<void> {
  await withStore(o.data, async (s) => {
    for (const k of await s.store.kms.list()) process.stdout.write(`${k.id}  ${new Date(k.created).toISOString()}\n`);
  });
}

/**
 * Deleting a key makes every object wrapped with it unreadable for good (no count of them is
 * kept to check against): `--force` says the operator means it.
 */
export async function kmsDelete(id: string, o: { data: string; force?: boolean }): Promise<void> {
  if (!o.force) {
    throw new CliError(
      'USAGE',
      `qstor admin kms delete ${id}: every object encrypted with this key becomes unreadable for good; add --force to delete it`,
    );
  }
  await withStore(o.data, async (s) => {
    await s.store.kms.delete(id);
    await s.store.replica.putKmsKey(s.meta, id);
    process.stdout.write(`deleted KMS key ${id}\n`);
  });
}
