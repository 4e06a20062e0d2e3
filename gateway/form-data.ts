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
    // Fields sent as file parts still being read: the form is ready once they are in.
    const pending: Array<Promise<void>> = [];
    let fileSeen = false;
    const done = (file: Form['file']): void => {
      fileSeen = true;
      void Promise.all(pending).then(() => {
        if (settled) return; // failed meanwhile
        settled = true;
        resolve({ fields, file, close });
      });
    };

    const field = (name: string, value: string, truncated: boolean): void => {
      fieldBytes += Buffer.byteLength(name) + Buffer.byteLength(value);
      if (truncated || fieldBytes > maxFieldBytes) return fail(fieldsTooLarge());
      const lower = name.toLowerCase();
      if (!fields.has(lower)) fields.set(lower, value);
    };
    parser.on('field', (name, value, info) => {
      if (!fileSeen) field(name, value, info.valueTruncated);
    });
    parser.on('file', (name, stream, info) => {
      if (fileSeen) {
        stream.resume(); // after the file: S3 ignores it
        return;
      }
      if (name.toLowerCase() !== 'file') {
        // A field sent with a filename (as Python's requests does with `files=`) is still a field.
        pending.push(
          fieldPart(stream, maxFieldBytes - fieldBytes).then(
            ([value, truncated]) => field(name, value, truncated),
            () => fail(malformedPost()),
          ),
        );
        return;
      }
      upload = stream;
      done({ filename: info.filename ?? '', body: fileBody(stream) });
    });
    parser.on('close', () => {
      if (!fileSeen) done(null);
    });
    parser.on('error', () => fail(malformedPost()));
    // A client that stops sending mid-form must not leave the file's consumer waiting forever.
    req.on('close', () => {
      if (!req.complete) fail(malformedPost());
    });
    req.pipe(parser);
  });
}

/** A part's bytes as text, at most `limit` of them (`truncated` when there were more). */
async function fieldPart(stream: Readable, limit: number): Promise<[string, boolean]> {
  const pieces: Buffer[] = [];
  let size = 0;
  for await (const piece of stream) {
    size += (piece as Buffer).length;
    if (size <= limit) pieces.push(piece as Buffer);
  }
  return [Buffer.concat(pieces).toString('utf8'), size > limit];
}

/** The file's bytes; a form that breaks off inside it fails the iteration as S3 reports it. */
async function* fileBody(stream: Readable): AsyncGenerator<Buffer> {
  try {
    for await (const piece of stream) yield piece as Buffer;
  } catch (e) {
    throw e instanceof S3Error ? e : malformedPost();
  }
}
