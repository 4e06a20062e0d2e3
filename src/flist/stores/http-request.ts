import http from 'node:http';
import https from 'node:https';
import { FlistError } from '../errors.js';

export interface HttpReply {
  status: number;
  body: Buffer;
}

// Keep-alive agents: a mount fetches many blocks from the same host.
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 16 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 16 }),
};

/** One request with the body collected (blocks are at most a few hundred KiB). */
export function request(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body?: Buffer,
  timeoutMs = 30_000,
): Promise<HttpReply> {
  const secure = url.protocol === 'https:';
  const lib = secure ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      url,
      { method, headers, agent: secure ? agents.https : agents.http, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', (err) =>
          reject(new FlistError('STORE', `${method} ${url.host}: ${err.message}`, { cause: err })),
        );
      },
    );
    req.on('timeout', () => req.destroy(new FlistError('STORE', `no answer in ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new FlistError('STORE', `${method} ${url.host}: ${err.message}`, { cause: err })));
    req.end(body);
  });
}
