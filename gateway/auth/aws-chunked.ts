import { createHash } from 'node:crypto';
import { S3Error } from '../errors.js';
import { EMPTY_SHA256, hmacHex, sameSignature, sha256Hex, type SigningChain } from './signing.js';

/**
 * A streaming decoder of `Content-Encoding: aws-chunked` bodies:
 *
 *   <hex size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;chunk-signature=<sig>]\r\n
 *   [<trailer>:<value>\r\n ... [x-amz-trailer-signature:<sig>\r\n]]\r\n
 *
 * Data is passed on as it arrives (memory stays bounded whatever the chunk size); a chunk's
 * signature is checked when its last byte has arrived, and a bad one throws before the stream
 * ends, so a store that commits only at the end of the body never commits it.
 */
export interface ChunkedOptions {
  /** Verify every chunk signature, chained from the seed (signed streaming modes). */
  signing?: SigningChain;
  /** Called with the trailing headers (lower-case names) before the stream ends; may throw. */
  onTrailers?: (trailers: Map<string, string>) => void;
}

const MAX_LINE = 4096;
/** Trailers are a checksum and a signature, some hundred bytes; an endless section is refused. */
const MAX_TRAILER_BYTES = 16 * 1024;

export async function* decodeAwsChunked(
  source: AsyncIterable<Uint8Array>,
  options: ChunkedOptions = {},
): AsyncGenerator<Buffer> {
  const reader = new ByteReader(source[Symbol.asyncIterator]());
  let previous = options.signing?.seed ?? '';
  while (true) {
    const header = await reader.line();
    const [sizeText, ...extensions] = header.split(';');
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText!)) throw malformed(`bad chunk size "${sizeText}"`);
    const size = parseInt(sizeText!, 16);
    const hash = options.signing ? createHash('sha256') : null;
    for await (const piece of reader.take(size)) {
      hash?.update(piece);
      yield piece;
    }
    if (options.signing) {
      const claimed = extensions.find((e) => e.startsWith('chunk-signature='))?.slice('chunk-signature='.length) ?? '';
      const s = options.signing;
      const expected = hmacHex(
        s.key,
        ['AWS4-HMAC-SHA256-PAYLOAD', s.longDate, s.scope, previous, EMPTY_SHA256, hash!.digest('hex')].join('\n'),
      );
      if (!sameSignature(expected, claimed)) {
        throw new S3Error(
          'SignatureDoesNotMatch',
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        );
      }
      previous = expected;
    }
    if (size === 0) break;
    if ((await reader.line()) !== '') throw malformed('chunk data is not followed by CRLF');
  }
  const trailers = await readTrailers(reader);
  if (options.signing && trailers.size > 0) verifyTrailerSignature(trailers, options.signing, previous);
  trailers.delete('x-amz-trailer-signature');
  options.onTrailers?.(trailers);
}

/** Trailer lines up to the empty line (or the end of the body, which some clients send instead). */
async function readTrailers(reader: ByteReader): Promise<Map<string, string>> {
  const trailers = new Map<string, string>();
  let bytes = 0;
  while (true) {
    const line = await reader.line(true);
    if (line === '' || line === null) return trailers;
    bytes += line.length + 2;
    const colon = line.indexOf(':');
    if (colon <= 0 || bytes > MAX_TRAILER_BYTES)
      throw new S3Error('MalformedTrailerError', 'The request contained trailing data that was not well-formed.');
    trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
}

function verifyTrailerSignature(trailers: Map<string, string>, s: SigningChain, previous: string): void {
  const claimed = trailers.get('x-amz-trailer-signature') ?? '';
  const canonical = [...trailers]
    .filter(([name]) => name !== 'x-amz-trailer-signature')
    .map(([name, value]) => `${name}:${value}\n`)
    .join('');
  const expected = hmacHex(
    s.key,
    ['AWS4-HMAC-SHA256-TRAILER', s.longDate, s.scope, previous, sha256Hex(canonical)].join('\n'),
  );
  if (!sameSignature(expected, claimed)) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The trailer signature we calculated does not match the signature you provided.',
    );
  }
}

function malformed(why: string): S3Error {
  return new S3Error('InvalidRequest', `Malformed aws-chunked body: ${why}.`);
}

function incomplete(): S3Error {
  return new S3Error('IncompleteBody', 'The request body ended before the aws-chunked encoding did.');
}

/** Lines and exact byte counts out of a stream of buffers, copying only what lines need. */
class ByteReader {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  private async fill(): Promise<boolean> {
    const next = await this.source.next();
    if (next.done) return false;
    const piece = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    this.buffer = this.buffer.length === 0 ? piece : Buffer.concat([this.buffer, piece]);
    return true;
  }

  /** The next line without its CRLF; at the end of the body, null when `endOk`, else IncompleteBody. */
  async line(endOk: true): Promise<string | null>;
  async line(): Promise<string>;
  async line(endOk = false): Promise<string | null> {
    while (true) {
      const end = this.buffer.indexOf('\r\n');
      if (end >= 0) {
        const text = this.buffer.subarray(0, end).toString('latin1');
        this.buffer = this.buffer.subarray(end + 2);
        return text;
      }
      if (this.buffer.length > MAX_LINE) throw malformed('line too long');
      if (!(await this.fill())) {
        if (endOk && this.buffer.length === 0) return null;
        throw incomplete();
      }
    }
  }

  /** Exactly `n` bytes, in the pieces they arrive in. */
  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buffer.length === 0 && !(await this.fill())) throw incomplete();
      const piece = this.buffer.subarray(0, Math.min(left, this.buffer.length));
      this.buffer = this.buffer.subarray(piece.length);
      left -= piece.length;
      yield piece;
    }
  }
}
