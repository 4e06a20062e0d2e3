import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { pino } from 'pino';
import { countBodyBytes, logRequest } from '../access-log.js';
import { Credentials } from '../auth/credentials.js';
import { isInternal, S3Error, toS3Error } from '../errors.js';
import { decodeComponent } from '../router/query.js';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  HEADERS_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  listening,
  type Gateway,
  type GatewayOptions,
} from '../server.js';
import { siteBucket } from './host.js';
import { errorPage } from './html.js';
import { ErrorDocumentError, serveSite, type SiteRequest } from './serve.js';

export interface WebsiteOptions extends Pick<
  GatewayOptions,
  'store' | 'meta' | 'masterKey' | 'rootAccessKey' | 'rootSecretKey' | 'region' | 'logger' | 'now'
> {
  /** `<bucket>.<domain>` names a bucket; any other Host is a bucket's whole name. */
  domain?: string;
}

/**
 * The website endpoint: a listener of its own (never the S3 port: its answers are HTML pages and
 * redirects, its requests anonymous), GET and HEAD only. See `serve.ts` for what it serves.
 */
export function createWebsite(o: WebsiteOptions): Gateway {
  const log = o.logger ?? pino({ level: 'info' });
  const site = {
    store: o.store,
    meta: o.meta,
    // Operations take the access keys; a website request is anonymous and never reads them.
    credentials: new Credentials(o.meta, o.masterKey, o.rootAccessKey, o.rootSecretKey),
    region: o.region ?? 'us-east-1',
    now: o.now ?? Date.now,
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('server', 'qstor');
    const bytes = countBodyBytes(req, res);
    let r: SiteRequest | null = null;
    let code: string | null = null;
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405, {
          allow: 'GET, HEAD',
        });
      const path = (req.url ?? '/').split('?')[0]!;
      if (!path.startsWith('/')) throw new S3Error('InvalidURI', "Couldn't parse the specified URI.");
      r = { req, res, bucket: siteBucket(req.headers.host, o.domain), key: decodeComponent(path.slice(1)) };
      await serveSite(site, r);
    } catch (e) {
      const error = toS3Error(e instanceof ErrorDocumentError ? e.error : e);
      code = error.code;
      if (isInternal(error)) log.error({ err: e, requestId }, 'website request failed');
      sendPage(req, res, error, errorPage(error, subject(r, error, requestId), documentError(e)));
    } finally {
      logRequest(log, {
        requestId,
        remote: req.socket.remoteAddress ?? null,
        accessKeyId: null,
        method: req.method ?? '',
        op: r?.route?.endpoint.kind ?? null,
        bucket: r?.bucket ?? null,
        key: r?.key ?? null,
        status: res.statusCode,
        code,
        payload: null,
        ...bytes(),
        ms: performance.now() - started,
      });
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log.error({ err: e }, 'could not answer a website request');
      res.destroy();
    });
  });
  // The S3 port's limits. Requests have no body here, so a connection quiet for the idle time
  // (a reader that stopped reading, headers never finished) is simply closed.
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.setTimeout(DEFAULT_IDLE_TIMEOUT_MS);
  server.maxConnections = DEFAULT_MAX_CONNECTIONS;
  return listening(server);
}

function documentError(e: unknown): S3Error | undefined {
  return e instanceof ErrorDocumentError ? e.documentError : undefined;
}

/** An error page names the key of an object's error, the bucket of a bucket's. */
function subject(r: SiteRequest | null, error: S3Error, requestId: string): Parameters<typeof errorPage>[1] {
  if (r === null) return { requestId };
  return error.code === 'NoSuchBucket' || error.code === 'NoSuchWebsiteConfiguration'
    ? { bucket: r.bucket, requestId }
    : { key: r.key, requestId };
}

function sendPage(req: IncomingMessage, res: ServerResponse, error: S3Error, page: string): void {
  if (res.headersSent) {
    res.destroy(); // the object was streaming: a cut connection is all that can say it failed
    return;
  }
  const body = req.method === 'HEAD' || error.status === 304 ? '' : page;
  // An object's headers set before its error (its CORS, say) stay; the page's replace the rest.
  const headers: Record<string, string | number> = { ...error.headers, 'content-length': Buffer.byteLength(body) };
  if (error.status !== 304) headers['content-type'] = 'text/html; charset=utf-8';
  res.writeHead(error.status, headers);
  res.end(body);
}
