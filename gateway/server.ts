import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { MetaStore } from '../src/meta/meta-store.js';
import type { ObjectStore } from '../src/store/object-store.js';
import { authorize, NEEDED } from './auth/access.js';
import { Credentials } from './auth/credentials.js';
import { verifiedBody, type VerifiedBody } from './auth/payload.js';
import { authenticate } from './auth/sigv4.js';
import type { Context } from './context.js';
import { errorXml, isInternal, S3Error, toS3Error } from './errors.js';
import { HANDLERS } from './ops/index.js';
import { route, type Operation, type Route } from './router.js';

export interface GatewayOptions {
  store: ObjectStore;
  meta: MetaStore;
  /** Opens the sealed secrets of access keys other than root. */
  masterKey: Buffer;
  rootAccessKey: string;
  rootSecretKey: string;
  region?: string;
  logger?: Logger;
  /** Domains under which `bucket.<domain>` is virtual-hosted-style addressing. */
  domains?: string[];
  /** The clock SigV4 checks skew and expiry against (Unix ms). */
  now?: () => number;
  /** Called once each request is finished with (metrics, tests). */
  onRequest?: (record: RequestRecord) => void;
  /** PEM certificate chain and private key: serve HTTPS instead of HTTP. */
  tls?: { cert: Buffer; key: Buffer };
}

/** One line per request: what the log and metrics get. Never headers, never secrets. */
export interface RequestRecord {
  requestId: string;
  method: string;
  op: Operation | null;
  bucket: string | null;
  status: number;
  code: string | null;
  /**
   * How the body came: the x-amz-content-sha256 mode (UNSIGNED-PAYLOAD, STREAMING-...), or
   * 'sha256' for a digest; null when the request did not authenticate.
   */
  payload: string | null;
  ms: number;
}

export interface Gateway {
  /** Resolves with the port listened on (0 picks a free one). */
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

export function createGateway(o: GatewayOptions): Gateway {
  const region = o.region ?? 'us-east-1';
  const log = o.logger ?? pino({ level: 'info' });
  const credentials = new Credentials(o.meta, o.masterKey, o.rootAccessKey, o.rootSecretKey);
  const domains = o.domains ?? ['localhost'];
  const now = o.now ?? Date.now;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('server', 'qstor');
    let r: Route | null = null;
    let code: string | null = null;
    let payload: string | null = null;
    try {
      r = route(req.method ?? 'GET', req.url ?? '/', req.headers, domains);
      const auth = await authenticate(req, r, { credentials, region, now: now() });
      payload = /^[0-9a-f]{64}$/.test(auth.payload) ? 'sha256' : auth.payload;
      await authorize(o.meta, auth.identity, r.bucket, NEEDED[r.op]);
      let body: VerifiedBody | null = null;
      const ctx: Context = {
        req,
        res,
        route: r,
        auth,
        credentials,
        store: o.store,
        meta: o.meta,
        region,
        body: () => (body ??= verifiedBody(req, auth)),
      };
      await HANDLERS[r.op](ctx);
    } catch (e) {
      if (clientClosed(e)) {
        code = 'ClientClosed';
      } else {
        const error = toS3Error(e);
        code = error.code;
        if (isInternal(error)) log.error({ err: e, requestId, op: r?.op }, 'request failed');
        sendError(req, res, error, r, requestId);
      }
    } finally {
      const record = { requestId, method: req.method ?? '', op: r?.op ?? null, bucket: r?.bucket ?? null, status: res.statusCode, code, payload, ms: performance.now() - started };
      log.debug(record, 'request');
      o.onRequest?.(record);
    }
  }

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((e: unknown) => {
      // Only a failure to send the error itself lands here: the connection is all that is left.
      log.error({ err: e }, 'could not answer a request');
      res.destroy();
    });
  };
  const server = o.tls ? https.createServer({ cert: o.tls.cert, key: o.tls.key }, serve) : http.createServer(serve);
  // Uploads stream for as long as they take; only the headers have a deadline.
  server.requestTimeout = 0;

  return {
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** A response stream the client closed before it ended (not a failure of ours). */
function clientClosed(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

function sendError(req: IncomingMessage, res: ServerResponse, error: S3Error, r: Route | null, requestId: string): void {
  if (res.headersSent) {
    // The object was streaming: a cut connection is the only way left to say it failed.
    res.destroy();
    return;
  }
  // An unread body is drained so the connection can serve the next request.
  if (!req.complete) req.resume();
  const resource = r ? `/${[r.bucket, r.key].filter((p) => p !== null).join('/')}` : '/';
  const body = req.method === 'HEAD' || error.status === 304 ? '' : errorXml(error, resource, requestId);
  const headers: Record<string, string | number> = { ...error.headers, 'content-length': Buffer.byteLength(body) };
  if (body !== '') headers['content-type'] = 'application/xml';
  res.writeHead(error.status, headers);
  res.end(body);
}
