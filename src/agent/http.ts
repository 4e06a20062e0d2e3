import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
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

export interface JsonService {
  /** Resolves with the bound port (useful with port 0). */
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * An HTTP service of JSON routes (the registry, the agent's API): `route` answers
 * [status, body]; what it throws is answered by `refusal` (an AgentError, or undefined for
 * a 500 with no detail) and logged as a refusal or a failure, never with request bodies.
 */
export function jsonService(
  route: (req: http.IncomingMessage) => Promise<[number, unknown]>,
  log: Logger,
  refusal: (err: unknown) => AgentError | undefined = (e) => (e instanceof AgentError ? e : undefined),
): JsonService {
  const server = http.createServer((req, res) => {
    route(req).then(
      ([status, value]) => {
        log.info({ method: req.method, path: req.url, status }, 'request');
        sendJson(res, status, value);
      },
      (err: unknown) => {
        const e = refusal(err);
        if (e)
          log.warn({ method: req.method, path: req.url, status: e.status, code: e.code, msg: e.message }, 'refused');
        else log.error({ method: req.method, path: req.url, err }, 'request failed');
        sendError(res, e ?? err);
      },
    );
  });
  return {
    listen: (port, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
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
export async function requestJson(
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  payload?: unknown,
  token?: string,
): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (payload !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: payload === undefined ? undefined : JSON.stringify(payload),
      signal: AbortSignal.timeout(10_000),
    });
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
  throw new AgentError(
    code,
    `${method} ${url}: ${res.status} ${code}: ${typeof e?.message === 'string' ? e.message : text.slice(0, 200)}`,
  );
}
