// The refusals of multipart checksums and POST-form checksums, as raw HTTP: the codes and messages AWS gives.
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { form, signedFields } from './helpers/post-form.js';
import {
  errorCode,
  errorMessage,
  gatewayForSuite,
  rawRequest,
  type GatewayHarness,
  type RawResponse,
} from './helpers/gateway-harness.js';

const sha256 = (data: Buffer | string): string => crypto.createHash('sha256').update(data).digest('base64');

describe('gateway: refusals of multipart and form checksums', () => {
  let g: GatewayHarness;
  let s3: S3Client;
  gatewayForSuite({ buckets: ['sums'] }, (t) => ({ g, s3 } = t));

  const request = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    rawRequest(g.port, { method, path, headers, body });
  const answer = (res: RawResponse): [number, string | undefined, string | undefined] => [
    res.status,
    errorCode(res),
    errorMessage(res),
  ];

  async function create(key: string, headers: Record<string, string>): Promise<string> {
    const res = await request('POST', `/sums/${key}?uploads`, headers);
    expect(res.status).toBe(200);
    return /<UploadId>([^<]+)<\/UploadId>/.exec(res.body.toString())![1]!;
  }

  function completion(parts: Array<{ n: number; etag: string; sha256?: string }>): string {
    const xml = parts.map(
      (p) =>
        `<Part><PartNumber>${p.n}</PartNumber><ETag>${p.etag}</ETag>${p.sha256 ? `<ChecksumSHA256>${p.sha256}</ChecksumSHA256>` : ''}</Part>`,
    );
    return `<CompleteMultipartUpload>${xml.join('')}</CompleteMultipartUpload>`;
  }

  it('refuses the algorithm and type combinations AWS refuses on CreateMultipartUpload', async () => {
    const refused = (headers: Record<string, string>): Promise<RawResponse> =>
      request('POST', '/sums/k?uploads', headers);
    expect(answer(await refused({ 'x-amz-checksum-type': 'COMPOSITE' }))).toEqual([
      400,
      'InvalidRequest',
      'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.',
    ]);
    expect(
      answer(await refused({ 'x-amz-checksum-algorithm': 'SHA256', 'x-amz-checksum-type': 'FULL_OBJECT' })),
    ).toEqual([
      400,
      'InvalidRequest',
      'The FULL_OBJECT checksum type cannot be used with the sha256 checksum algorithm.',
    ]);
    expect(
      answer(await refused({ 'x-amz-checksum-algorithm': 'CRC64NVME', 'x-amz-checksum-type': 'COMPOSITE' })),
    ).toEqual([
      400,
      'InvalidRequest',
      'The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.',
    ]);
    const md5 = answer(await refused({ 'x-amz-checksum-algorithm': 'MD5' }));
    expect(md5.slice(0, 2)).toEqual([400, 'InvalidRequest']);
    const created = await request('POST', '/sums/k?uploads', {
      'x-amz-checksum-algorithm': 'CRC32',
      'x-amz-checksum-type': 'FULL_OBJECT',
    });
    expect([created.headers['x-amz-checksum-algorithm'], created.headers['x-amz-checksum-type']]).toEqual([
      'CRC32',
      'FULL_OBJECT',
    ]);
  });

  it("requires each part's checksum in the upload's algorithm, and checks the completion's", async () => {
    const id = await create('parts', { 'x-amz-checksum-algorithm': 'SHA256' });
    const path = (n: number): string => `/sums/parts?partNumber=${n}&uploadId=${id}`;
    const body = 'a short single part';
    expect(answer(await request('PUT', path(1), {}, body))).toEqual([
      400,
      'InvalidRequest',
      'Checksum Type mismatch occurred, expected checksum Type: sha256, actual checksum Type: null',
    ]);
    const crc = Buffer.alloc(4).toString('base64');
    expect(answer(await request('PUT', path(1), { 'x-amz-checksum-crc32': crc }, body))).toEqual([
      400,
      'InvalidRequest',
      'Checksum Type mismatch occurred, expected checksum Type: sha256, actual checksum Type: crc32',
    ]);
    const wrong = await request('PUT', path(1), { 'x-amz-checksum-sha256': sha256('other') }, body);
    expect(answer(wrong).slice(0, 2)).toEqual([400, 'BadDigest']);
    const part = await request('PUT', path(1), { 'x-amz-checksum-sha256': sha256(body) }, body);
    expect([part.status, part.headers['x-amz-checksum-sha256']]).toEqual([200, sha256(body)]);
    const etag = part.headers.etag!;

    const complete = (headers: Record<string, string>, xml: string): Promise<RawResponse> =>
      request('POST', `/sums/parts?uploadId=${id}`, headers, xml);
    // A part's checksum other than the one it was uploaded with: InvalidPart, as a wrong ETag.
    const otherPart = await complete({}, completion([{ n: 1, etag, sha256: sha256('other') }]));
    expect(answer(otherPart).slice(0, 2)).toEqual([400, 'InvalidPart']);
    const composite = `${crypto
      .createHash('sha256')
      .update(Buffer.from(sha256(body), 'base64'))
      .digest('base64')}-1`;
    const badObject = await complete({ 'x-amz-checksum-sha256': sha256('other') }, completion([{ n: 1, etag }]));
    expect(answer(badObject)).toEqual([
      400,
      'BadDigest',
      'The sha256 you specified did not match the calculated checksum.',
    ]);
    const otherType = await complete({ 'x-amz-checksum-type': 'FULL_OBJECT' }, completion([{ n: 1, etag }]));
    expect(answer(otherType)).toEqual([
      400,
      'InvalidRequest',
      'The upload was created using the COMPOSITE checksum mode. The complete request must use the same checksum mode.',
    ]);
    // Nothing was committed by the refusals.
    expect(await g.h.meta.getObject('sums', 'parts')).toBeNull();
    const done = await complete(
      { 'x-amz-checksum-sha256': composite },
      completion([{ n: 1, etag, sha256: sha256(body) }]),
    );
    expect(done.status).toBe(200);
    const xml = done.body.toString();
    expect(xml).toContain(`<ChecksumSHA256>${composite}</ChecksumSHA256><ChecksumType>COMPOSITE</ChecksumType>`);
  });

  it('verifies the checksum field of a POST form, refusing a malformed or wrong one', async () => {
    const data = Buffer.from('a form upload with a checksum');
    const post = async (checksum: string): Promise<RawResponse> => {
      // The checksum field needs no condition of the policy (AWS's form fields as s3-tests sends them).
      const f = form(
        [
          ['key', 'form/k'],
          ['x-amz-checksum-sha256', checksum],
          ...signedFields([{ bucket: 'sums' }, ['starts-with', '$key', 'form/']]),
        ],
        {
          name: 'f.txt',
          data,
        },
      );
      return rawRequest(g.port, {
        method: 'POST',
        path: '/sums',
        headers: { 'content-type': f.type },
        body: f.body,
        creds: null,
      });
    };
    expect(answer(await post('sailorjerry')).slice(0, 2)).toEqual([400, 'InvalidRequest']);
    expect(answer(await post(sha256('other'))).slice(0, 2)).toEqual([400, 'BadDigest']);
    expect(await g.h.meta.getObject('sums', 'form/k')).toBeNull();
    expect((await post(sha256(data))).status).toBe(204);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'sums', Key: 'form/k', ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumSHA256).toBe(sha256(data));
  });
});
