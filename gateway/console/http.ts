import type { IncomingMessage, ServerResponse } from 'node:http';
import { CodedError } from '../../src/util/coded-error.js';
import { isInternal, toS3Error } from '../errors.js';

type ConsoleCode =
  | 'Unauthenticated'
  | 'InvalidCsrfToken'
  | 'BadOrigin'
  | 'InvalidCredentials'
  | 'BadRequest'
  | 'NotFound'
  | 'PayloadTooLarge'
  | 'TooManyAttempts';

const STATUS: Record<ConsoleCode, number> = {
  Unauthenticated: 401,
  InvalidCredentials: 401,
  InvalidCsrfToken: 403,
  BadOrigin: 403,
  BadRequest: 400,
  NotFound: 404,
  PayloadTooLarge: 413,
  TooManyAttempts: 429,
};

/** A refusal of the console API itself (sessions, CSRF, bad JSON); S3's own errors keep their codes. */
export class ConsoleError extends CodedError<ConsoleCode> {
  get status(): number {
    return STATUS[this.code];
  }
}

/** What a handler is given: the request, its parsed URL and the response. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** `{ code, message }` with the HTTP status of the code: the same translation S3 answers use. */
export function sendError(res: ServerResponse, e: unknown): { status: number; code: string; internal: boolean } {
  const { status, code, message, internal } =
    e instanceof ConsoleError ? { status: e.status, code: e.code, message: e.message, internal: false } : describe(e);
  if (res.headersSent) res.destroy();
  else sendJson(res, status, { code, message });
  return { status, code, internal };
}

function describe(e: unknown): { status: number; code: string; message: string; internal: boolean } {
  const s3 = toS3Error(e);
  return { status: s3.status, code: s3.code, message: s3.message, internal: isInternal(s3) };
}

const MAX_JSON_BYTES = 64 * 1024;

/** The request's JSON object body (64 KiB at most). */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > MAX_JSON_BYTES) throw new ConsoleError('PayloadTooLarge', 'the request body is over 64 KiB');
    parts.push(part);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}');
  } catch {
    throw new ConsoleError('BadRequest', 'the request body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConsoleError('BadRequest', 'the request body is not a JSON object');
  return value as Record<string, unknown>;
}

export function stringField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '')
    throw new ConsoleError('BadRequest', `${name} must be a non-empty string`);
  return value;
}

/** A required query parameter. */
export function param(url: URL, name: string): string {
  const value = url.searchParams.get(name);
  if (value === null || value === '') throw new ConsoleError('BadRequest', `the ${name} parameter is missing`);
  return value;
}
