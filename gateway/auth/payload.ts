import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { S3Error } from '../errors.js';
import { decodeAwsChunked } from './aws-chunked.js';
import {
  checkChecksumValue,
  checksumHeaderAlgorithm,
  namedChecksums,
  newChecksum,
  type Checksum,
  type ChecksumAlgorithm,
} from './checksums.js';
import type { Authenticated } from './sigv4.js';

export interface VerifiedBody {
  /**
   * The decoded body. Every check (payload sha256, chunk signatures, checksums, length) runs
   * before it ends: a bad body throws from the iterator, so the store never commits it.
   */
  body: AsyncIterable<Buffer>;
  /** Object size as the client declared it (decoded length for aws-chunked), if it did. */
  length: number | null;
  /**
   * The verified x-amz-checksum-* values by algorithm. Filled by the time the body ends when the
   * checksum comes in a trailer: the store reads it only after the body.
   */
  checksums: Record<string, string>;
}

const STREAMING = new Map([
  ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD', { signed: true, trailer: false }],
  ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', { signed: true, trailer: true }],
  ['STREAMING-UNSIGNED-PAYLOAD-TRAILER', { signed: false, trailer: true }],
]);

/**
 * The request body as the signature and the headers say it must be; `x-amz-checksum-*` headers
 * describe the body unless `headerChecksums` is false (they describe something else).
 */
export function verifiedBody(req: IncomingMessage, auth: Authenticated, headerChecksums = true): VerifiedBody {
  const streaming = STREAMING.get(auth.payload);
  const sha256 = auth.payload === 'UNSIGNED-PAYLOAD' || streaming ? null : auth.payload;
  if (sha256 !== null && !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new S3Error(
      'InvalidArgument',
      'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-... or a valid sha256 value.',
    );
  }
  const length = declaredLength(req, streaming !== undefined);
  const expected = headerChecksums ? expectedChecksums(req, streaming?.trailer ?? false) : new Map();
  const checksums: Record<string, string> = {};
  const running = new Map<ChecksumAlgorithm, Checksum>([...expected.keys()].map((a) => [a, newChecksum(a)]));

  const raw = clientBody(req);
  const decoded = streaming
    ? decodeAwsChunked(raw, {
        signing: streaming.signed ? auth.chain : undefined,
        onTrailers: (trailers) => {
          for (const [name, value] of trailers) {
            const algorithm = checksumHeaderAlgorithm(name);
            if (algorithm && expected.has(algorithm)) expected.set(algorithm, value);
          }
        },
      })
    : raw;

  async function* verify(): AsyncGenerator<Buffer> {
    const hash = sha256 !== null ? createHash('sha256') : null;
    let size = 0;
    for await (const piece of decoded) {
      size += piece.length;
      if (length !== null && size > length)
        throw new S3Error('IncompleteBody', 'The request body is longer than the declared length.');
      hash?.update(piece);
      for (const c of running.values()) c.update(piece);
      yield piece; // after hashing: the store may transfer the buffer to a worker
    }
    if (length !== null && size !== length) {
      throw new S3Error(
        'IncompleteBody',
        'You did not provide the number of bytes specified by the Content-Length HTTP header.',
      );
    }
    if (hash && hash.digest('hex') !== sha256) {
      throw new S3Error(
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
    }
    for (const [algorithm, c] of running) {
      const claimed = expected.get(algorithm);
      if (claimed === '')
        throw new S3Error(
          'MalformedTrailerError',
          `The trailer x-amz-checksum-${algorithm} was declared but not sent.`,
        );
      checkChecksumValue(algorithm, claimed!);
      if ((await c.digest()) !== claimed) {
        throw new S3Error(
          'BadDigest',
          `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
        );
      }
      checksums[algorithm] = claimed!;
    }
  }
  return { body: verify(), length, checksums };
}

function declaredLength(req: IncomingMessage, streaming: boolean): number | null {
  const text = streaming ? req.headers['x-amz-decoded-content-length'] : req.headers['content-length'];
  if (text === undefined) return null;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new S3Error('InvalidArgument', 'The declared content length is not a valid number.');
  return n;
}

/**
 * The checksums the client announced: header values now, or '' for a trailer still to come
 * (x-amz-trailer names it).
 */
function expectedChecksums(req: IncomingMessage, trailer: boolean): Map<ChecksumAlgorithm, string> {
  const expected = namedChecksums(Object.entries(req.headers));
  const declared = req.headers['x-amz-trailer'];
  if (trailer && typeof declared === 'string') {
    for (const name of declared.split(',')) {
      const algorithm = checksumHeaderAlgorithm(name.trim().toLowerCase());
      if (!algorithm) throw new S3Error('InvalidRequest', `The trailer ${name.trim()} is not supported.`);
      expected.set(algorithm, '');
    }
  }
  return expected;
}

/** The socket's bytes; a client that goes away mid-body ends the upload with IncompleteBody. */
async function* clientBody(req: IncomingMessage): AsyncGenerator<Buffer> {
  try {
    for await (const piece of req) yield piece as Buffer;
  } catch {
    throw new S3Error('IncompleteBody', 'The client closed the connection before the body ended.');
  }
  if (!req.complete) throw new S3Error('IncompleteBody', 'The client closed the connection before the body ended.');
}
