import { createHash, type Hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import zlib from 'node:zlib';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { crc32c } from '@node-rs/crc32';
import { S3Error } from '../errors.js';

/** The additional checksums S3 verifies and stores (base64 of the big-endian digest). */
export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export interface Checksum {
  update(data: Uint8Array): void;
  /** base64 */
  digest(): Promise<string>;
}

const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { crc32: 4, crc32c: 4, crc64nvme: 8, sha1: 20, sha256: 32 };

class Crc implements Checksum {
  private value = 0;
  constructor(private readonly fn: (data: Uint8Array, initial: number) => number) {}
  update(data: Uint8Array): void {
    this.value = this.fn(data, this.value);
  }
  digest(): Promise<string> {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(this.value >>> 0);
    return Promise.resolve(out.toString('base64'));
  }
}

/** CRC-64/NVME (the SDKs' newest default) from the AWS SDK's own implementation. */
class Crc64 implements Checksum {
  private readonly crc = new Crc64Nvme();
  update(data: Uint8Array): void {
    this.crc.update(data);
  }
  async digest(): Promise<string> {
    return Buffer.from(await this.crc.digest()).toString('base64');
  }
}

class Digest implements Checksum {
  private readonly hash: Hash;
  constructor(algorithm: string) {
    this.hash = createHash(algorithm);
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digest(): Promise<string> {
    return Promise.resolve(this.hash.digest('base64'));
  }
}

export function newChecksum(algorithm: ChecksumAlgorithm): Checksum {
  switch (algorithm) {
    case 'crc32':
      return new Crc(zlib.crc32);
    case 'crc32c':
      return new Crc(crc32c);
    case 'crc64nvme':
      return new Crc64();
    case 'sha1':
    case 'sha256':
      return new Digest(algorithm);
  }
}

/** The algorithm named by a header such as `x-amz-checksum-crc32`, or null for other headers. */
export function checksumHeaderAlgorithm(header: string): ChecksumAlgorithm | null {
  if (!header.startsWith('x-amz-checksum-')) return null;
  const name = header.slice('x-amz-checksum-'.length);
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(name) ? (name as ChecksumAlgorithm) : null;
}

/** Whether `value` is base64 of a digest of the algorithm's size. */
export function isChecksumValue(algorithm: ChecksumAlgorithm, value: string): boolean {
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === DIGEST_BYTES[algorithm] && bytes.toString('base64') === value;
}

/** Throws InvalidRequest unless `value` is base64 of the algorithm's digest size. */
export function checkChecksumValue(algorithm: ChecksumAlgorithm, value: string): void {
  if (!isChecksumValue(algorithm, value)) {
    throw new S3Error('InvalidRequest', `Value for x-amz-checksum-${algorithm} header is invalid.`);
  }
}

/**
 * The checksums named among `fields` (`x-amz-checksum-<algorithm>`: a request's headers, a POST
 * form's fields), each checked to be a well-formed digest (InvalidRequest otherwise).
 */
export function namedChecksums(fields: Iterable<[string, unknown]>): Map<ChecksumAlgorithm, string> {
  const named = new Map<ChecksumAlgorithm, string>();
  for (const [name, value] of fields) {
    const algorithm = checksumHeaderAlgorithm(name);
    if (!algorithm || typeof value !== 'string') continue;
    checkChecksumValue(algorithm, value);
    named.set(algorithm, value);
  }
  return named;
}

/**
 * The algorithms of the checksums a request carries, in a header (`x-amz-checksum-<algorithm>`)
 * or announced as a trailer (`x-amz-trailer`).
 */
export function requestChecksumAlgorithms(headers: IncomingHttpHeaders): ChecksumAlgorithm[] {
  const names = Object.keys(headers);
  const trailer = headers['x-amz-trailer'];
  if (typeof trailer === 'string') names.push(...trailer.split(',').map((name) => name.trim().toLowerCase()));
  return names.map(checksumHeaderAlgorithm).filter((algorithm) => algorithm !== null);
}

/**
 * `body`, checked at its end against the checksums `expected` (BadDigest when one differs; an
 * undefined one is only computed); `verified` holds them from then on (a PUT's manifest takes them).
 */
export async function* checkedBody(
  body: AsyncIterable<Buffer>,
  expected: ReadonlyMap<ChecksumAlgorithm, string | undefined>,
  verified: Record<string, string>,
): AsyncGenerator<Buffer> {
  const running = [...expected.keys()].map((algorithm) => [algorithm, newChecksum(algorithm)] as const);
  for await (const piece of body) {
    for (const [, checksum] of running) checksum.update(piece);
    yield piece;
  }
  for (const [algorithm, checksum] of running) {
    const digest = await checksum.digest();
    const claimed = expected.get(algorithm);
    if (claimed !== undefined && digest !== claimed)
      throw new S3Error(
        'BadDigest',
        `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
      );
    verified[algorithm] = digest;
  }
}
