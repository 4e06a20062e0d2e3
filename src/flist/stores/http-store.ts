import { FlistError } from '../errors.js';
import { request } from './http-request.js';
import { redact, shardedPath, type BlockStore } from './store.js';

/** `http(s)://host/prefix`: read-only, blocks at `prefix/ab/<hex>` or, as rfs falls back to, `prefix/<hex>`. */
export class HttpStore implements BlockStore {
  private readonly base: string;

  constructor(readonly url: string) {
    this.base = url.endsWith('/') ? url : `${url}/`;
  }

  async get(id: Buffer): Promise<Buffer> {
    for (const name of [shardedPath(id), id.toString('hex')]) {
      const reply = await request(new URL(name, this.base), 'GET', {});
      if (reply.status === 200) return reply.body;
      if (reply.status !== 404) throw new FlistError('STORE', `GET ${redact(this.url)}: HTTP ${reply.status}`);
    }
    throw new FlistError('NOT_FOUND', `not in ${redact(this.url)}`);
  }

  async set(): Promise<void> {
    throw new FlistError('READ_ONLY', `${redact(this.url)} is a read-only store`);
  }

  async exists(id: Buffer): Promise<boolean> {
    for (const name of [shardedPath(id), id.toString('hex')]) {
      if ((await request(new URL(name, this.base), 'HEAD', {})).status === 200) return true;
    }
    return false;
  }

  async close(): Promise<void> {}
}
