import type { MetaStore } from '../../src/meta/meta-store.js';
import { openSecret } from '../../src/pipeline/keys.js';
import { ownerOf, type GranteeDirectory, type Owner } from './acl.js';

export interface Identity {
  accessKeyId: string;
  /** Root owns everything; other keys see only the buckets granted to them. */
  root: boolean;
  /** A request without credentials: only what a bucket's ACL or policy allows everyone. */
  anonymous?: boolean;
  /** A key (not root) that may create buckets of its own (`qstor admin key allow K --create-buckets`). */
  createBuckets?: boolean;
}

export interface KnownKey extends Identity {
  secret: string;
}

/** Access keys: the root pair from the configuration, the others from metadata (sealed secrets). */
export class Credentials {
  constructor(
    private readonly meta: MetaStore,
    private readonly masterKey: Buffer,
    private readonly rootAccessKey: string,
    private readonly rootSecretKey: string,
  ) {}

  async lookup(accessKeyId: string): Promise<KnownKey | null> {
    if (accessKeyId === this.rootAccessKey) return { accessKeyId, root: true, secret: this.rootSecretKey };
    const stored = await this.meta.getAccessKey(accessKeyId);
    if (!stored) return null;
    return {
      accessKeyId,
      root: false,
      createBuckets: stored.createBuckets,
      secret: openSecret(this.masterKey, accessKeyId, stored.encryptedSecret),
    };
  }

  /**
   * The owners of every key, for ACL grants that name one by canonical id or e-mail address. A
   * key's e-mail address is its name when that is one (`qstor admin key create --name
   * ann@example.com`); the root key has none.
   */
  async directory(): Promise<GranteeDirectory> {
    const keys = await this.meta.listAccessKeys();
    const byId = new Map<string, Owner>();
    const byEmail = new Map<string, Owner>();
    for (const { accessKeyId, name } of [{ accessKeyId: this.rootAccessKey, name: '' }, ...keys]) {
      const owner = ownerOf(accessKeyId);
      byId.set(owner.id, owner);
      if (name.includes('@')) byEmail.set(name.toLowerCase(), owner);
    }
    return { byId: (id) => byId.get(id), byEmail: (email) => byEmail.get(email.toLowerCase()) };
  }
}
