import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { MetaStore } from '../../src/meta/meta-store.js';
import type { BackendPool } from '../../src/store/backend-pool.js';
import type { ObjectStore } from '../../src/store/object-store.js';
import { Credentials } from '../auth/credentials.js';
import { createBucket, deleteBucket, getBucket, listBuckets, setVersioning } from './buckets.js';
import { cluster } from './cluster.js';
import type { ApiContext, ReservationFailure, Traffic } from './context.js';
import { ConsoleError, sendError, sendJson, type Exchange } from './http.js';
import { createKey, deleteKey, listKeys, setGrant } from './keys.js';
import {
  abortUpload,
  completeUpload,
  createUpload,
  deleteObjects,
  deleteVersion,
  download,
  listObjects,
  objectDetails,
  objectVersions,
  share,
  upload,
  uploadPart,
} from './objects.js';
import { checkCsrf, checkOrigin, login, logout, Sessions, view } from './session.js';
import { StaticFiles } from './static.js';

export interface ConsoleOptions {
  store: ObjectStore;
  meta: MetaStore;
  backends: BackendPool;
  masterKey: Buffer;
  rootAccessKey: string;
  rootSecretKey: string;
  region?: string;
  /** The S3 port and scheme, for share links (the host is the one the browser used). */
  s3Port: number;
  s3Tls?: boolean;
  /** The built UI (npm run build:console). */
  uiDir: string;
  logger: Logger;
  /** The S3 request counters of /metrics (the admin server's `traffic`), for the cluster page. */
  traffic?: () => Promise<Traffic | null>;
  /** The registry's zdbs whose namespace reservation failed (the cluster link's), for the cluster page. */
  reservationFailures?: () => ReservationFailure[];
}

type Handler = (ctx: ApiContext, ...args: string[]) => Promise<void>;

/** Routes by method and path; `:x` segments are handed to the handler in order. */
const ROUTES: Array<[method: string, pattern: string, handler: Handler]> = [
  ['GET', '/api/buckets', listBuckets],
  ['POST', '/api/buckets', createBucket],
  ['GET', '/api/buckets/:b', getBucket],
  ['DELETE', '/api/buckets/:b', deleteBucket],
  ['PUT', '/api/buckets/:b/versioning', setVersioning],
  ['GET', '/api/buckets/:b/objects', listObjects],
  ['GET', '/api/buckets/:b/object', objectDetails],
  ['GET', '/api/buckets/:b/versions', objectVersions],
  ['DELETE', '/api/buckets/:b/versions', deleteVersion],
  ['GET', '/api/buckets/:b/download', download],
  ['POST', '/api/buckets/:b/delete', deleteObjects],
  ['PUT', '/api/buckets/:b/upload', upload],
  ['POST', '/api/buckets/:b/uploads', createUpload],
  ['PUT', '/api/buckets/:b/uploads/:id', uploadPart],
  ['POST', '/api/buckets/:b/uploads/:id/complete', completeUpload],
  ['DELETE', '/api/buckets/:b/uploads/:id', abortUpload],
  ['POST', '/api/buckets/:b/share', share],
  ['GET', '/api/keys', listKeys],
  ['POST', '/api/keys', createKey],
  ['DELETE', '/api/keys/:k', deleteKey],
  ['PUT', '/api/keys/:k/grants', setGrant],
  ['GET', '/api/cluster', cluster],
];

function match(method: string, pathname: string): { handler: Handler; args: string[] } | null {
  const parts = pathname.split('/');
  for (const [m, pattern, handler] of ROUTES) {
    const want = pattern.split('/');
    if (m !== method || want.length !== parts.length) continue;
    const args: string[] = [];
    const same = want.every((w, i) => {
      if (!w.startsWith(':')) return w === parts[i];
      args.push(parts[i]!);
      return parts[i] !== '';
    });
    if (same) return { handler, args: args.map(decodeSegment) };
  }
  return null;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ConsoleError('BadRequest', 'the path has a bad %-escape');
  }
}

/**
 * The web console on the admin port: its JSON API under /api/ and the built UI elsewhere.
 * Every API call but login needs a session; every state-changing one its CSRF token and, from
 * a browser, this server's Origin. Rights are S3's (see context.ts).
 */
export class Console {
  private readonly credentials: Credentials;
  private readonly sessions: Sessions;
  private readonly files: StaticFiles;

  constructor(private readonly o: ConsoleOptions) {
    this.credentials = new Credentials(o.meta, o.masterKey, o.rootAccessKey, o.rootSecretKey);
    this.sessions = new Sessions(this.credentials);
    this.files = new StaticFiles(o.uiDir);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://console');
    const method = req.method ?? 'GET';
    if (!url.pathname.startsWith('/api/')) {
      if (method !== 'GET' && method !== 'HEAD')
        return sendJson(res, 405, { code: 'MethodNotAllowed', message: 'the console pages are read with GET' });
      return this.files.serve(url.pathname, res);
    }
    const x: Exchange = { req, res, url };
    let keyId: string | null = null;
    let outcome = { status: 200, code: 'OK', internal: false };
    try {
      if (url.pathname === '/api/session') {
        if (method === 'POST') return await login(x, this.sessions);
        const { id, session } = await this.sessions.require(req);
        keyId = session.identity.accessKeyId;
        if (method === 'GET') return sendJson(res, 200, view(session));
        if (method === 'DELETE') {
          checkOrigin(req);
          checkCsrf(req, session);
          return logout(x, this.sessions, id);
        }
        throw new ConsoleError('NotFound', `no ${method} ${url.pathname}`);
      }
      const { session } = await this.sessions.require(req);
      keyId = session.identity.accessKeyId;
      if (method !== 'GET' && method !== 'HEAD') {
        checkOrigin(req);
        checkCsrf(req, session);
      }
      const found = match(method, url.pathname);
      if (!found) throw new ConsoleError('NotFound', `no ${method} ${url.pathname}`);
      await found.handler(this.context(x, session.identity), ...found.args);
    } catch (e) {
      outcome = sendError(res, e);
      if (outcome.internal) this.o.logger.error({ err: e, path: url.pathname }, 'console request failed');
    } finally {
      // Never the body (a login carries a secret) nor the cookie; the path names no secret.
      this.o.logger.info(
        {
          console: true,
          method,
          path: url.pathname,
          status: res.statusCode,
          code: outcome.code,
          key: keyId,
          ms: Math.round(performance.now() - started),
        },
        'console request',
      );
    }
  }

  private context(x: Exchange, identity: ApiContext['identity']): ApiContext {
    let hostname = '127.0.0.1';
    try {
      hostname = new URL(`http://${x.req.headers.host ?? ''}`).hostname || hostname;
    } catch {
      // A Host header that is no host: the links name the loopback address.
    }
    const o = this.o;
    return {
      ...x,
      identity,
      store: o.store,
      meta: o.meta,
      backends: o.backends,
      credentials: this.credentials,
      masterKey: o.masterKey,
      region: o.region ?? 'us-east-1',
      traffic: o.traffic ?? (async () => null),
      reservationFailures: o.reservationFailures ?? (() => []),
      s3Endpoint: `${o.s3Tls ? 'https' : 'http'}://${hostname}:${o.s3Port}`,
    };
  }
}
