import { createHash } from 'node:crypto';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../util/node-sha256.js';
import { FlistError } from '../errors.js';
import { request, type HttpReply } from './http-request.js';
import type { BlockStore } from './store.js';

export interface S3Location {
  endpoint: URL;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** `s3://access:secret@host:port/bucket[?region=R]`: path-style, object key = hex id, as rfs. */
export class S3Store implements BlockStore {
  private readonly signer: SignatureV4;

  constructor(
    readonly url: string,
    private readonly loc: S3Location,
  ) {
    this.signer = new SignatureV4({
      credentials: { accessKeyId: loc.accessKeyId, secretAccessKey: loc.secretAccessKey },
      region: loc.region,
      service: 's3',
      sha256: NodeSha256,
      uriEscapePath: false,
      applyChecksum: false,
    });
  }

  async get(id: Buffer): Promise<Buffer> {
    const reply = await this.send('GET', id);
    if (reply.status === 200) return reply.body;
    if (reply.status === 404) throw new FlistError('NOT_FOUND', `not in ${this.safeName()}`);
    throw this.failure('GET', reply.status, reply.body);
  }

  async set(id: Buffer, data: Buffer): Promise<void> {
    const reply = await this.send('PUT', id, data);
    if (reply.status !== 200) throw this.failure('PUT', reply.status, reply.body);
  }

  async exists(id: Buffer): Promise<boolean> {
    const reply = await this.send('HEAD', id);
    if (reply.status === 200) return true;
    if (reply.status === 404) return false;
    throw this.failure('HEAD', reply.status, reply.body);
  }

  async close(): Promise<void> {}

  /** One request, tried again (up to 3 times, backing off) on a 5xx or a dropped connection, as S3 clients do. */
  private async send(method: string, id: Buffer, body?: Buffer): Promise<HttpReply> {
    for (let attempt = 1; ; attempt++) {
      try {
        const reply = await this.sendOnce(method, id, body);
        if (reply.status < 500 || attempt === 3) return reply;
      } catch (err) {
        if (attempt === 3) throw err;
      }
      await new Promise((r) => setTimeout(r, 100 * 4 ** attempt));
    }
  }

  private async sendOnce(method: string, id: Buffer, body?: Buffer): Promise<HttpReply> {
    const { endpoint, bucket } = this.loc;
    const path = `/${bucket}/${id.toString('hex')}`;
    const payloadHash = createHash('sha256')
      .update(body ?? Buffer.alloc(0))
      .digest('hex');
    const headers: Record<string, string> = { host: endpoint.host, 'x-amz-content-sha256': payloadHash };
    if (body) headers['content-length'] = String(body.length);
    const signed = await this.signer.sign(
      new HttpRequest({
        method,
        protocol: endpoint.protocol,
        hostname: endpoint.hostname,
        port: Number(endpoint.port) || undefined,
        path,
        headers,
      }),
    );
    return request(new URL(path, endpoint), method, signed.headers as Record<string, string>, body);
  }

  private failure(method: string, status: number, body: Buffer): FlistError {
    const code = /<Code>([^<]+)<\/Code>/.exec(body.toString('utf8'))?.[1] ?? '';
    return new FlistError('STORE', `${method} ${this.safeName()}: HTTP ${status} ${code}`.trim());
  }

  private safeName(): string {
    return `s3://${this.loc.endpoint.host}/${this.loc.bucket}`;
  }
}
