import { randomBytes } from 'node:crypto';
import type { KmsKey, MetaStore } from '../meta/meta-store.js';
import { KEY_BYTES } from '../pipeline/encrypt.js';
import { openKmsKey, sealKmsKey } from '../pipeline/keys.js';
import { KmsError } from './errors.js';

/** What `qstor admin kms create` takes as a key id: safe in an ARN, a header and a log line. */
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** `arn:aws:kms:REGION:ACCOUNT:key/ID`, as AWS clients name a key. */
const KEY_ARN = /^arn:aws:kms:[^:]*:[^:]*:key\/([^/]+)$/;

/** The key id that `name` (an id, or a key's ARN) names. */
export function keyIdOf(name: string): string {
  return KEY_ARN.exec(name)?.[1] ?? name;
}

/** The ARN `qstor admin kms create` prints for a key (AWS's form; any region and account name it here). */
export function keyArn(id: string, region = 'us-east-1', account = '000000000000'): string {
  return `arn:aws:kms:${region}:${account}:key/${id}`;
}

function notFound(id: string): KmsError {
  return new KmsError('KMS.NotFoundException', `Invalid keyId ${id}`);
}

/**
 * The KMS keys the store holds itself (as MinIO's static key or Ceph RGW's testing backend,
 * with named keys): each a random 256-bit key sealed under the master key in the MetaStore,
 * opened per use and never cached, so a key deleted on one gateway is gone for every gateway at
 * once. A key never leaves this module but as the input of `kmsWrapKey`: never printed, logged
 * or returned by an API.
 */
export class Keyring {
  constructor(
    private readonly meta: MetaStore,
    private readonly masterKey: Buffer,
  ) {}

  /** A new key named `id`; throws InvalidArgument for an id of another form, KmsKeyAlreadyExists. */
  async create(id: string): Promise<KmsKey> {
    if (!KEY_ID.test(id)) {
      throw new KmsError(
        'InvalidArgument',
        'a KMS key id is 1 to 128 letters, digits, - or _, starting with a letter or digit',
      );
    }
    const key = randomBytes(KEY_BYTES);
    try {
      return await this.meta.createKmsKey(id, sealKmsKey(this.masterKey, id, key));
    } finally {
      key.fill(0);
    }
  }

  /** The key `name` (an id or an ARN) names, opened; KMS.NotFoundException when there is none (AWS's answer). */
  async key(name: string): Promise<Buffer> {
    const id = keyIdOf(name);
    const row = await this.meta.getKmsKey(id);
    if (!row) throw notFound(name);
    return openKmsKey(this.masterKey, id, row.sealedKey);
  }

  /** Throws KMS.NotFoundException unless the key `name` (an id or an ARN) names exists. */
  async require(name: string): Promise<void> {
    if (!(await this.meta.getKmsKey(keyIdOf(name)))) throw notFound(name);
  }

  list(): Promise<KmsKey[]> {
    return this.meta.listKmsKeys();
  }

  /** Deletes key `id` for good: the objects it wraps can no longer be read. */
  delete(id: string): Promise<void> {
    return this.meta.deleteKmsKey(id);
  }
}
