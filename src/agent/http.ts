import type http from 'node:http';
import { AgentError, isAgentErrorCode } from './errors.js';

/** Largest request body either service reads: reports and reservations are small. */
const MAX_BODY_BYTES = 256 * 1024;

export async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new AgentError('BAD_REQUEST', `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new AgentError('BAD_REQUEST', 'request body is not JSON');
  }
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Answers an error as `{ code, message }`; anything but an AgentError is a 500 with no detail. */
export function sendError(res: http.ServerResponse, err: unknown): void {
  if (err instanceof AgentError) sendJson(res, err.status, { code: err.code, message: err.message });
  else sendJson(res, 500, { code: 'INTERNAL', message: 'internal error' });
}

/** The bearer token of a request, or undefined. */
export function bearer(req: http.IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7) : undefined;
}

/**
 * One JSON request to a qstor service. A `{ code, message }` answer becomes the AgentError it
 * stands for, so a client sees the same typed refusal the server raised.
 */
export async function requestJson(method: 'GET' | 'POST', url: string, payload?: unknown, token?: string): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (payload !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: payload === undefined ? undefined : JSON.stringify(payload), signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new AgentError('UNAVAILABLE', `${method} ${url}: ${(err as Error).message}`, { cause: err });
  }
  const text = await res.text();
  let value: unknown;
  try {
    value = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new AgentError('PROTOCOL', `${method} ${url}: answer ${res.status} is not JSON`);
  }
  if (res.ok) return value;
  const e = value as { code?: unknown; message?: unknown } | undefined;
  const code = isAgentErrorCode(e?.code) ? e.code : 'PROTOCOL';
  throw new AgentError(code, `${method} ${url}: ${res.status} ${code}: ${typeof e?.message === 'string' ? e.message : text.slice(0, 200)}`);
}
