import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { crc32c } from '@node-rs/crc32';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { multipartChecksum, uploadChecksumOf } from '../gateway/auth/multipart-checksums.js';
import { S3Error } from '../gateway/errors.js';

const crc4 = (value: number): string => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out.toString('base64');
};
const DIRECT: Record<string, (data: Buffer) => Promise<string>> = {
  crc32: (data) => Promise.resolve(crc4(zlib.crc32(data))),
  crc32c: (data) => Promise.resolve(crc4(crc32c(data))),
  crc64nvme: async (data) => {
    const hash = new Crc64Nvme();
    hash.update(data);
    return Buffer.from(await hash.digest()).toString('base64');
  },
};

describe('multipart checksums: CRC combination and composite', () => {
  for (const algorithm of Object.keys(DIRECT)) {
    it(`${algorithm}: the combined CRC of the parts is the CRC of the whole`, async () => {
      const pieces = [Buffer.from(''), crypto.randomBytes(1), crypto.randomBytes(1000), crypto.randomBytes(70_001)];
      const parts = await Promise.all(
        pieces.map(async (p) => ({ checksum: await DIRECT[algorithm]!(p), size: p.length })),
      );
      const combined = await multipartChecksum({ algorithm, type: 'FULL_OBJECT' }, parts);
      expect(combined).toBe(await DIRECT[algorithm]!(Buffer.concat(pieces)));
    });
  }

  it("gives ceph/s3-tests' values for three 5 MiB parts of 'A', 'B', 'C'", async () => {
    const three = (sums: string[]): Array<{ checksum: string; size: number }> =>
      sums.map((checksum) => ({ checksum, size: 5 * 1024 * 1024 }));
    const full = (algorithm: string, sums: string[]): Promise<string> =>
      multipartChecksum({ algorithm, type: 'FULL_OBJECT' }, three(sums));
    const composite = (algorithm: string, sums: string[]): Promise<string> =>
      multipartChecksum({ algorithm, type: 'COMPOSITE' }, three(sums));
    expect(await full('crc32', ['JRTCyQ==', 'QoZTGg==', 'YAgjqw=='])).toBe('WgDhBQ==');
    expect(await full('crc32c', ['MDaLrw==', 'TH4EZg==', 'Z7mBIQ=='])).toBe('xU+Krw==');
    expect(await full('crc64nvme', ['L/E4WYn8v98=', 'xW1l19VobYM=', 'cK5MnNaWrW4='])).toBe('i+6LR0y3eFo=');
    expect(
      await composite('sha256', [
        '275VF5loJr1YYawit0XSHREhkFXYkkPKGuoK0x9VKxI=',
        'mrHwOfjTL5Zwfj74F05HOQGLdUb7E5szdCbxgUSq6NM=',
        'Vw7oB/nKQ5xWb3hNgbyfkvDiivl+U+/Dft48nfJfDow=',
      ]),
    ).toBe('uWBwpe1dxI4Vw8Gf0X9ynOdw/SS6VBzfWm9giiv1sf4=-3');
    expect(
      await composite('sha1', [
        'iIaTCGbm+vdVjNqIMF2S0T7ibMk=',
        'LS/TJ32bAVKEwRu+sE3X7awh/lk=',
        '6DDwovUaHwrKNXDMzOGbuvj9kxI=',
      ]),
    ).toBe('sizjvY4eud3MrcHdZM3cQ/ol39o=-3');
  });

  it('takes the algorithm and type of CreateMultipartUpload as AWS does', () => {
    const code = (algorithm?: string, type?: string): string | undefined => {
      try {
        uploadChecksumOf(algorithm, type);
        return undefined;
      } catch (e) {
        return `${(e as S3Error).code}: ${(e as S3Error).message}`;
      }
    };
    expect(uploadChecksumOf(undefined, undefined)).toBeUndefined();
    expect(uploadChecksumOf('SHA256', undefined)).toEqual({ algorithm: 'sha256', type: 'COMPOSITE' });
    expect(uploadChecksumOf('CRC32', undefined)).toEqual({ algorithm: 'crc32', type: 'COMPOSITE' });
    expect(uploadChecksumOf('CRC64NVME', undefined)).toEqual({ algorithm: 'crc64nvme', type: 'FULL_OBJECT' });
    expect(uploadChecksumOf('CRC32C', 'FULL_OBJECT')).toEqual({ algorithm: 'crc32c', type: 'FULL_OBJECT' });
    expect(code(undefined, 'COMPOSITE')).toBe(
      'InvalidRequest: The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.',
    );
    expect(code('SHA256', 'FULL_OBJECT')).toBe(
      'InvalidRequest: The FULL_OBJECT checksum type cannot be used with the sha256 checksum algorithm.',
    );
    expect(code('CRC64NVME', 'COMPOSITE')).toBe(
      'InvalidRequest: The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.',
    );
    expect(code('MD5')).toMatch(/^InvalidRequest: Checksum algorithm provided is unsupported/);
    expect(code('CRC32', 'WHOLE')).toBe('InvalidRequest: Value for x-amz-checksum-type header is invalid.');
  });
});
