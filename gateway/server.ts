import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { pino, type Logger } from 'pino';
import type { MetaStore } from '../src/meta/meta-store.js';
import type { ObjectStore } from '../src/store/object-store.js';
import { countBodyBytes, logRequest, type RequestRecord } from './access-log.js';
import { Credentials } from './auth/credentials.js';
import { verifiedBody, type VerifiedBody } from './auth/payload.js';
import { authorizeRoute } from './auth/request-access.js';
import { authenticate } from './auth/sigv4.js';
import type { Context } from './context.js';
import { isInternal, S3Error, toS3Error } from './errors.js';
import { runOperation } from './ops/index.js';
import { route, type Route } from './router.js';
import { requestMeta } from './request-meta.js';
import { errorXml } from './xml.js';

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
  /**
   * A connection on which the client has sent (or read) nothing for this long while we wait on
   * it is closed: an upload gone quiet gets 400 RequestTimeout, nothing is committed. Slow but
   * progressing uploads are not limited. Default 30 s.
   */
  idleTimeoutMs?: number;
  /** Connections open at once; more are closed as they arrive. Default 512. */
  maxConnections?: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/**
 * How long an idle keep-alive connection stays open. Node's default, 5 s, is shorter than the
 * idle time clients and balancers keep connections for (AWS ALB 60 s, nginx's upstream
 * keepalive_timeout 60 s, HAProxy's `timeout http-keep-alive` or `timeout server`): one of them
 * reuses a connection just as we close it and its request fails ("socket hang up",
 * ECONNRESET). Above theirs, the peer closes first, between requests.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** Above the keep-alive time (Node's rule: a lower one cut keep-alive connections short). */
export const HEADERS_TIMEOUT_MS = KEEP_ALIVE_TIMEOUT_MS + 1_000;
export const DEFAULT_MAX_CONNECTIONS = 512;
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';
/** What Node answers a request it could not parse, by the parser's error. */
const CLIENT_ERROR_ANSWER: Record<string, string> = {
  HPE_HEADER_OVERFLOW: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n',
  ERR_HTTP_REQUEST_TIMEOUT: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
};

export type { RequestRecord } from './access-log.js';

export interface Gateway {
  /** Resolves with the port listened on (0 picks a free one). */
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

/** Listen and close for an HTTP(S) server: close also ends the idle keep-alive connections. */
export function listening(server: http.Server): Gateway {
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

export function createGateway(o: GatewayOptions): Gateway {
  const region = o.region ?? 'us-east-1';
  const log = o.logger ?? pino({ level: 'info' });
  const credentials = new Credentials(o.meta, o.masterKey, o.rootAccessKey, o.rootSecretKey);
  const domains = o.domains ?? ['localhost'];
  const now = o.now ?? Date.now;
  const idleTimeoutMs = o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  /** The request each connection is serving, and how to answer it when the client goes quiet. */
  const serving = new Map<Socket, { req: IncomingMessage; res: ServerResponse; timeOut: () => void }>();
  /** Requests sent with `Expect: 100-continue`: told to go on once authorised, not before. */
  const awaitingContinue = new WeakSet<IncomingMessage>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('server', 'qstor');
    let r: Route | null = null;
    let code: string | null = null;
    let payload: string | null = null;
    let accessKeyId: string | null = null;
    let timedOut = false;
    const bytes = countBodyBytes(req, res);
    const socket = req.socket;
    serving.set(socket, {
      req,
      res,
      timeOut: () => {
        timedOut = true;
        sendError(req, res, requestTimeout(), r, requestId);
      },
    });
    res.once('close', () => {
      // A pipelined request may already have taken the connection's entry.
      if (serving.get(socket)?.res === res) serving.delete(socket);
    });
    try {
      r = route(req.method ?? 'GET', req.url ?? '/', req.headers, domains);
      const auth = await authenticate(req, r, { credentials, region, now: now() });
      payload = /^[0-9a-f]{64}$/.test(auth.payload) ? 'sha256' : auth.payload;
      if (!auth.identity.anonymous) accessKeyId = auth.identity.accessKeyId;
      // An object request never changes its bucket: it may read the bucket's record once.
      const meta = r.key !== null ? requestMeta(o.meta) : o.meta;
      await authorizeRoute(meta, auth.identity, req, r, now());
      // A refused request got its error above instead: the client never sends the body.
      if (awaitingContinue.has(req)) res.writeContinue();
      let body: VerifiedBody | null = null;
      // CompleteMultipartUpload's x-amz-checksum-* are the object's, not its body's.
      const headerChecksums = r.endpoint.kind !== 'CompleteMultipartUpload';
      const ctx: Context = {
        req,
        res,
        route: r,
        auth,
        credentials,
        store: o.store,
        meta,
        region,
        body: () => (body ??= verifiedBody(req, auth, headerChecksums)),
      };
      await runOperation(ctx);
    } catch (e) {
      if (timedOut) {
        code = 'RequestTimeout'; // answered already; the body's failure that followed is ours to drop
      } else if (clientClosed(e)) {
        code = 'ClientClosed';
      } else {
        const error = toS3Error(e);
        code = error.code;
        if (isInternal(error)) log.error({ err: e, requestId, op: r?.endpoint.kind }, 'request failed');
        sendError(req, res, error, r, requestId);
      }
    } finally {
      const record: RequestRecord = {
        requestId,
        remote: socket.remoteAddress ?? null,
        accessKeyId,
        method: req.method ?? '',
        op: r?.endpoint.kind ?? null,
        bucket: r?.bucket ?? null,
        key: r?.key ?? null,
        status: res.statusCode,
        code,
        payload,
        ...bytes(),
        ms: performance.now() - started,
      };
      logRequest(log, record);
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
  // Node would answer 100 Continue to every such request itself, a refused one too.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    awaitingContinue.add(req);
    serve(req, res);
  });
  // Node would answer 417 to any other Expect value; S3 ignores it (s3-tests' bad_expect_*).
  server.on('checkExpectation', serve);
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const current = serving.get(socket);
    // Bytes past a body's Content-Length: its request still gets its answer (BadDigest, say),
    // not Node's bare 400 in its place; the connection closes after it.
    if (current && current.req.complete && !current.res.headersSent) {
      current.res.shouldKeepAlive = false;
      return;
    }
    // Node's own answer otherwise.
    if (socket.writable && socket.bytesWritten === 0)
      socket.write(CLIENT_ERROR_ANSWER[error.code ?? ''] ?? BAD_REQUEST);
    socket.destroy(error);
  });
  // Uploads stream for as long as they take; what is limited is silence (and the headers' time).
  server.requestTimeout = 0;
  server.setTimeout(idleTimeoutMs);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.on('timeout', (socket: Socket) => {
    const current = serving.get(socket);
    if (!current) {
      socket.destroy(); // between requests, or headers never finished
      return;
    }
    const { req, res } = current;
    // Our read of the body is waiting and nothing came: the client is the one that is quiet.
    const waitingForBody = !req.complete && req.readableLength === 0;
    if (waitingForBody && !res.headersSent) current.timeOut();
    else if (waitingForBody || res.writableNeedDrain)
      socket.destroy(); // or it stopped reading our answer
    else socket.setTimeout(idleTimeoutMs); // the wait is ours (the store is working): keep watching
  });
  server.maxConnections = o.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  let dropped = 0;
  let dropLogged = 0;
  server.on('drop', () => {
    dropped++;
    // One line per 10 s at most: a flood must not flood the log too.
    if (Date.now() - dropLogged < 10_000) return;
    log.warn({ dropped, maxConnections: server.maxConnections }, 'connections refused: at maxConnections');
    dropLogged = Date.now();
    dropped = 0;
  });

  return listening(server);
}

/** A response stream the client closed before it ended (not a failure of ours). */
function clientClosed(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

function requestTimeout(): S3Error {
  return new S3Error(
    'RequestTimeout',
    'Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.',
  );
}

function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  error: S3Error,
  r: Route | null,
  requestId: string,
): void {
  if (res.headersSent) {
    // The object was streaming: a cut connection is the only way left to say it failed.
    res.destroy();
    return;
  }
  const resource = r ? `/${[r.bucket, r.key].filter((p) => p !== null).join('/')}` : '/';
  const body = req.method === 'HEAD' || error.status === 304 ? '' : errorXml(error, resource, requestId);
  const headers: Record<string, string | number> = { ...error.headers, 'content-length': Buffer.byteLength(body) };
  if (body !== '') headers['content-type'] = 'application/xml';
  // A body left unread is not drained: the connection closes after the answer, so a refused
  // upload (an unauthenticated one trickling bytes, say) holds nothing once it has its error.
  if (!req.complete) headers['connection'] = 'close';
  res.writeHead(error.status, headers);
  res.end(body);
}
