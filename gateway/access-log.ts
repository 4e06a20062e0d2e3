import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Operation } from './router.js';

/**
 * One record per S3 request: what the access log, /metrics and tests get. Never a header, a
 * secret, a signature or a query string (a presigned URL carries its signature there).
 */
export interface RequestRecord {
  requestId: string;
  /** The client's address as the socket sees it (no proxy header is trusted). */
  remote: string | null;
  /** The authenticated key; null for an anonymous request or one that did not authenticate. */
  accessKeyId: string | null;
  method: string;
  op: Operation | null;
  bucket: string | null;
  key: string | null;
  status: number;
  /** The S3 error code answered (or RequestTimeout, ClientClosed); null on success. */
  code: string | null;
  /**
   * How the body came: the x-amz-content-sha256 mode (UNSIGNED-PAYLOAD, STREAMING-...), or
   * 'sha256' for a digest; null when the request did not authenticate.
   */
  payload: string | null;
  /** Body bytes received from the client (aws-chunked framing included) and sent to it. */
  bytesIn: number;
  bytesOut: number;
  ms: number;
}

/**
 * Counts the body bytes of one exchange. Node hands a request's body to its stream through
 * `push` and takes a response's through `write`/`end`; counting there sees every byte whoever
 * reads or writes the body (the store, a form parser, a pipe), without touching the flow.
 */
export function countBodyBytes(req: IncomingMessage, res: ServerResponse): () => { bytesIn: number; bytesOut: number } {
  let bytesIn = 0;
  let bytesOut = 0;
  const push = req.push.bind(req);
  req.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk !== null && chunk !== undefined) bytesIn += byteLength(chunk);
    return push(chunk, encoding);
  };
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    bytesOut += byteLength(chunk);
    return write(chunk, ...rest);
  }) as ServerResponse['write'];
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'function' && chunk !== undefined && chunk !== null) bytesOut += byteLength(chunk);
    return end(chunk, ...rest);
  }) as ServerResponse['end'];
  return () => ({ bytesIn, bytesOut });
}

function byteLength(chunk: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk);
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

/**
 * The access log: one `info` line per request, 401/403 and 501 included (an operator sees
 * refused requests without turning on debug). Fields are fixed here, so nothing else (a
 * header, a query string) can slip into the line.
 */
export function logRequest(log: Logger, r: RequestRecord): void {
  log.info(
    {
      requestId: r.requestId,
      remote: r.remote,
      accessKeyId: r.accessKeyId,
      method: r.method,
      bucket: r.bucket,
      key: r.key,
      op: r.op,
      status: r.status,
      code: r.code,
      payload: r.payload,
      bytesIn: r.bytesIn,
      bytesOut: r.bytesOut,
      ms: Math.round(r.ms * 10) / 10,
    },
    'request',
  );
}
