import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { S3Error } from './errors.js';

/** A multipart/form-data request read up to its file: the fields before it, and the file as a stream. */
export interface Form {
  /** Fields before the file, by lower-case name (the first of a repeated name). */
  fields: Map<string, string>;
  /** The part named `file`; null when the form ended without one. */
  file: { filename: string; body: AsyncIterable<Buffer> } | null;
  /** Stops parsing: the rest of the request is read and dropped (the connection stays usable). */
  close(): void;
}

export function malformedPost(): S3Error {
  return new S3Error('MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.');
}

function fieldsTooLarge(): S3Error {
  return new S3Error(
    'MaxPostPreDataLengthExceededError',
    'Your POST request fields preceding the upload file were too large.',
  );
}

/**
 * Parses the request as S3 reads a browser form: fields until the part named `file`, whose
 * bytes stream (with backpressure) to whoever consumes `file.body`; what follows the file is
 * ignored. The fields before it may total `maxFieldBytes` (names and values).
 */
export function readForm(req: IncomingMessage, maxFieldBytes: number): Promise<Form> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fieldSize: maxFieldBytes } });
    } catch {
      reject(malformedPost()); // no boundary, not multipart
      return;
    }
    const fields = new Map<string, string>();
    let fieldBytes = 0;
    let upload: Readable | null = null;
    let settled = false;
    const close = (): void => {
      req.unpipe(parser);
      req.resume();
    };
    const fail = (error: S3Error): void => {
      if (!settled) {
        settled = true;
        close();
        reject(error);
      } else {
        upload?.destroy(error);
      }
    };
    const done = (file: Form['file']): void => {
      settled = true;
      resolve({ fields, file, close });
    };

    parser.on('field', (name, value, info) => {
      if (settled) return;
      fieldBytes += Buffer.byteLength(name) + Buffer.byteLength(value);
      if (info.valueTruncated || fieldBytes > maxFieldBytes) return fail(fieldsTooLarge());
      const lower = name.toLowerCase();
      if (!fields.has(lower)) fields.set(lower, value);
    });
    parser.on('file', (name, stream, info) => {
      if (settled || name.toLowerCase() !== 'file') {
        stream.resume(); // a part S3 ignores
        return;
      }
      upload = stream;
      done({ filename: info.filename ?? '', body: fileBody(stream) });
    });
    parser.on('close', () => {
      if (!settled) done(null);
    });
    parser.on('error', () => fail(malformedPost()));
    // A client that stops sending mid-form must not leave the file's consumer waiting forever.
    req.on('close', () => {
      if (!req.complete) fail(malformedPost());
    });
    req.pipe(parser);
  });
}

/** The file's bytes; a form that breaks off inside it fails the iteration as S3 reports it. */
async function* fileBody(stream: Readable): AsyncGenerator<Buffer> {
  try {
    for await (const piece of stream) yield piece as Buffer;
  } catch (e) {
    throw e instanceof S3Error ? e : malformedPost();
  }
}
