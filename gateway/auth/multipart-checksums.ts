import type { ChecksumType, UploadChecksum } from '../../src/meta/meta-store.js';
import { S3Error } from '../errors.js';
import { CHECKSUM_ALGORITHMS, newChecksum, type ChecksumAlgorithm } from './checksums.js';

/**
 * The checksums of multipart objects (AWS "Checking object integrity"): an upload names one
 * algorithm and a type. COMPOSITE: the algorithm over the parts' binary digests, then `-<parts>`.
 * FULL_OBJECT: the CRC of the whole object, combined from the parts' CRCs and sizes with CRC
 * arithmetic, so no byte is read again.
 */

/** Reflected polynomials and widths of the CRCs S3 can combine. */
const CRCS: Partial<Record<ChecksumAlgorithm, { width: bigint; poly: bigint }>> = {
  crc32: { width: 32n, poly: 0xedb88320n },
  crc32c: { width: 32n, poly: 0x82f63b78n },
  crc64nvme: { width: 64n, poly: 0x9a6c9329ac4bc9b5n },
};

/**
 * CreateMultipartUpload's `x-amz-checksum-algorithm` and `x-amz-checksum-type`: undefined when
 * neither is sent, else the upload's checksum (type defaulting as AWS: COMPOSITE but for
 * CRC64NVME), or AWS's InvalidRequest for a combination it refuses.
 */
export function uploadChecksumOf(algorithmHeader?: string, typeHeader?: string): UploadChecksum | undefined {
  if (algorithmHeader === undefined) {
    if (typeHeader === undefined) return undefined;
    throw new S3Error(
      'InvalidRequest',
      'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.',
    );
  }
  const algorithm = algorithmHeader.toLowerCase() as ChecksumAlgorithm;
  if (!CHECKSUM_ALGORITHMS.includes(algorithm)) {
    throw new S3Error(
      'InvalidRequest',
      'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]',
    );
  }
  if (typeHeader !== undefined && typeHeader !== 'COMPOSITE' && typeHeader !== 'FULL_OBJECT')
    throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-type header is invalid.');
  const type: ChecksumType = typeHeader ?? (algorithm === 'crc64nvme' ? 'FULL_OBJECT' : 'COMPOSITE');
  const allowed = type === 'FULL_OBJECT' ? CRCS[algorithm] !== undefined : algorithm !== 'crc64nvme';
  if (!allowed)
    throw new S3Error(
      'InvalidRequest',
      `The ${type} checksum type cannot be used with the ${algorithm} checksum algorithm.`,
    );
  return { algorithm, type };
}

/** The object's checksum from its parts' checksums (base64) and sizes, in order. */
export async function multipartChecksum(
  upload: UploadChecksum,
  parts: ReadonlyArray<{ checksum: string; size: number }>,
): Promise<string> {
  const algorithm = upload.algorithm as ChecksumAlgorithm;
  if (upload.type === 'FULL_OBJECT') return combinedCrc(algorithm, parts);
  const hash = newChecksum(algorithm);
  for (const part of parts) hash.update(Buffer.from(part.checksum, 'base64'));
  return `${await hash.digest()}-${parts.length}`;
}

/** The CRC of the parts' concatenation: crc(A‖B) = crc(A)·x^(8·|B|) mod P xor crc(B). */
function combinedCrc(algorithm: ChecksumAlgorithm, parts: ReadonlyArray<{ checksum: string; size: number }>): string {
  const crc = CRCS[algorithm]!;
  const bytes = Number(crc.width / 8n);
  let value = 0n; // the CRC of nothing, for these CRCs (their initial value and final xor are equal)
  for (const part of parts) {
    value =
      multiply(crc, xPower8n(crc, part.size), value) ^
      BigInt(`0x${Buffer.from(part.checksum, 'base64').toString('hex') || '0'}`);
  }
  return Buffer.from(value.toString(16).padStart(bytes * 2, '0'), 'hex').toString('base64');
}

/** a·b mod P, reflected (zlib's multmodp). */
function multiply(crc: { width: bigint; poly: bigint }, a: bigint, b: bigint): bigint {
  let m = 1n << (crc.width - 1n);
  let product = 0n;
  while (m !== 0n) {
    if (a & m) {
      product ^= b;
      if ((a & (m - 1n)) === 0n) break;
    }
    m >>= 1n;
    b = b & 1n ? (b >> 1n) ^ crc.poly : b >> 1n;
  }
  return product;
}

/** x^(8·n) mod P, reflected, by squaring. */
function xPower8n(crc: { width: bigint; poly: bigint }, n: number): bigint {
  const one = 1n << (crc.width - 1n);
  let power = one >> 8n; // x^8
  let result = one;
  for (let left = BigInt(n); left > 0n; left >>= 1n) {
    if (left & 1n) result = multiply(crc, power, result);
    power = multiply(crc, power, power);
  }
  return result;
}
