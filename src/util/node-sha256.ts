import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

/** What @smithy's hash constructors take (its SourceData). */
type Source = string | ArrayBuffer | ArrayBufferView;

function bytes(data: Source): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * SHA-256 (or HMAC-SHA-256 with a secret) from node:crypto behind the Checksum interface that
 * `@smithy/signature-v4` takes as `sha256`: the pure-JS @aws-crypto hash costs ~20x more per
 * signature, on every S3 request the gateway verifies or a client of ours signs.
 */
export class NodeSha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: Source) {
    this.hash = this.fresh();
  }

  update(data: Source): void {
    this.hash.update(bytes(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
}
