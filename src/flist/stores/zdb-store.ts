import { ZdbClient } from '../../zdb-client/index.js';
import { FlistError } from '../errors.js';
import { redact, type BlockStore } from './store.js';

/** `zdb://[:password@]host:port/namespace`: a user-mode namespace, key = block id. */
export class ZdbStore implements BlockStore {
  private readonly client: ZdbClient;

  constructor(
    readonly url: string,
    options: { host: string; port: number; namespace?: string; password?: string },
  ) {
    this.client = new ZdbClient({
      host: options.host,
      port: options.port,
      namespace: options.namespace,
      namespacePassword: options.password,
      connections: 4,
    });
  }

  async get(id: Buffer): Promise<Buffer> {
    const value = await this.call(() => this.client.get(id));
    // rfs treats an empty value as no block at all.
    if (value === null || value.length === 0) throw new FlistError('NOT_FOUND', `not in ${redact(this.url)}`);
    return value;
  }

  async set(id: Buffer, data: Buffer): Promise<void> {
    await this.call(() => this.client.set(id, data));
  }

  exists(id: Buffer): Promise<boolean> {
    return this.call(() => this.client.exists(id));
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private async call<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new FlistError('STORE', `${redact(this.url)}: ${(err as Error).message}`, { cause: err });
    }
  }
}
