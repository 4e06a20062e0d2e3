import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import { sealSecret } from '../pipeline/keys.js';
import { openStore } from '../data-dir/local-store.js';
import { CliError } from './errors.js';

/** `qstor admin key create|list|delete`: access keys other than root (secrets sealed under the master key). */
export async function key(argv: string[]): Promise<void> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { data: { type: 'string', default: './qstor-data' }, name: { type: 'string', default: '' } },
  });
  const s = await openStore(values.data);
  try {
    switch (action) {
      case 'create': {
        const id = 'QK' + crypto.randomBytes(12).toString('hex').toUpperCase().slice(0, 18);
        const secret = crypto.randomBytes(30).toString('base64');
        await s.meta.createAccessKey(id, sealSecret(s.masterKey, id, secret), values.name);
        process.stdout.write(`AWS_ACCESS_KEY_ID=${id}\nAWS_SECRET_ACCESS_KEY=${secret}\n(the secret is shown once; grant buckets with: qstor admin bucket allow BUCKET --key ${id} --read --write)\n`);
        return;
      }
      case 'list':
        for (const k of await s.meta.listAccessKeys()) {
          const grants = (await s.meta.listGrants(k.accessKeyId)).map((g) => `${g.bucket}:${flags(g.permissions)}`);
          process.stdout.write(`${k.accessKeyId}  ${k.name || '-'}  ${new Date(k.created).toISOString()}  ${grants.join(' ') || '(no buckets)'}\n`);
        }
        return;
      case 'delete': {
        if (positionals.length !== 1) throw new CliError('USAGE', 'usage: qstor admin key delete KEY_ID');
        await s.meta.deleteAccessKey(positionals[0]!);
        process.stdout.write(`deleted ${positionals[0]}\n`);
        return;
      }
      default:
        throw new CliError('USAGE', 'usage: qstor admin key create [--name N] | list | delete KEY_ID');
    }
  } finally {
    await s.close();
  }
}

function flags(p: { read: boolean; write: boolean; owner: boolean }): string {
  return [p.read ? 'read' : '', p.write ? 'write' : '', p.owner ? 'owner' : ''].filter(Boolean).join(',') || 'none';
}

/** `qstor admin bucket allow|deny BUCKET --key K [--read] [--write] [--owner]`. */
export async function bucket(argv: string[]): Promise<void> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      data: { type: 'string', default: './qstor-data' },
      key: { type: 'string' },
      read: { type: 'boolean', default: false },
      write: { type: 'boolean', default: false },
      owner: { type: 'boolean', default: false },
    },
  });
  if ((action !== 'allow' && action !== 'deny') || positionals.length !== 1 || !values.key || !(values.read || values.write || values.owner)) {
    throw new CliError('USAGE', 'usage: qstor admin bucket allow|deny BUCKET --key KEY_ID [--read] [--write] [--owner]');
  }
  const s = await openStore(values.data);
  try {
    const wanted = { read: values.read, write: values.write, owner: values.owner };
    const now = await (action === 'allow' ? s.meta.allow(values.key, positionals[0]!, wanted) : s.meta.deny(values.key, positionals[0]!, wanted));
    process.stdout.write(`${values.key} on ${positionals[0]}: ${flags(now)}\n`);
  } finally {
    await s.close();
  }
}
