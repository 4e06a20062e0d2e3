import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MetaStore, WebsiteConfiguration } from '../../src/meta/meta-store.js';
import type { ObjectStore } from '../../src/store/object-store.js';
import type { Credentials } from '../auth/credentials.js';
import { verifiedBody } from '../auth/payload.js';
import { authorizeAccess, authorizeRoute } from '../auth/request-access.js';
import { ANONYMOUS } from '../auth/sigv4.js';
import { S3Error, toS3Error } from '../errors.js';
import { WEBSITE_REDIRECT } from '../ops/object-headers.js';
import { runOperation } from '../ops/index.js';
import { startingWith } from '../ops/objects.js';
import { noWebsite } from '../ops/website.js';
import { requestMeta } from '../request-meta.js';
import { route, type Route } from '../router.js';
import { encodeKey, matchingRule, redirectAll, ruleRedirect, type Redirection, type Requested } from './routing.js';

/** What serving a site needs of the gateway. */
export interface Site {
  store: ObjectStore;
  meta: MetaStore;
  credentials: Credentials;
  region: string;
  now: () => number;
}

/** One website request: GET or HEAD of `key` (the path, decoded) in `bucket`. */
export interface SiteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  bucket: string;
  key: string;
  /** The S3 route of the object last looked up (the access log's operation). */
  route?: Route;
}

/** The custom error document was found but could not be served: the page says both errors. */
export class ErrorDocumentError extends Error {
  constructor(
    readonly error: S3Error,
    readonly documentError: S3Error,
  ) {
    super(error.message);
  }
}

/**
 * Serves a request as AWS's website endpoint, in its order: RedirectAllRequestsTo; the routing
 * rules without an error condition; the object (the index document for `/` and keys ending in
 * `/`, a 301 for an object with a website redirect, a 302 to `key/` when only `key/<index>`
 * exists); on an error, the rules naming its status, then for 4XX the error document with the
 * error's status. Every object is read as an anonymous GetObject of the S3 endpoint, authorised
 * by the same decision, so a site serves only what its bucket lets everyone read.
 */
export async function serveSite(site: Site, r: SiteRequest): Promise<void> {
  const meta = requestMeta(site.meta);
  const bucket = await meta.getBucket(r.bucket);
  if (!bucket) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist');
  const config = bucket.settings.website;
  if (!config) throw noWebsite();
  const requested: Requested = {
    key: r.key,
    host: r.req.headers.host ?? r.bucket,
    secure: (r.req.socket as TLSSocket).encrypted === true,
  };
  if (config.redirectAll) return redirect(r.res, redirectAll(config.redirectAll, requested));
  const early = matchingRule(config.routingRules, r.key);
  if (early) return redirect(r.res, ruleRedirect(early, requested));
  const suffix = config.indexSuffix!;
  const key = r.key === '' || r.key.endsWith('/') ? r.key + suffix : r.key;
  try {
    await serveObject({ ...site, meta }, r, key);
  } catch (e) {
    const error = toS3Error(e);
    if (r.res.headersSent || error.status === 304) throw e;
    if ((error.status === 403 || error.status === 404) && key === r.key) {
      const folder = `${r.key}/`;
      if (await readableObject({ ...site, meta }, r, folder + suffix))
        return redirect(r.res, { status: 302, location: `/${encodeKey(folder)}` });
    }
    const rule = matchingRule(config.routingRules, r.key, error.status);
    if (rule) return redirect(r.res, ruleRedirect(rule, requested));
    if (error.status >= 400 && error.status < 500 && config.errorKey !== undefined)
      return serveErrorDocument({ ...site, meta }, r, config, error);
    throw error;
  }
}

/** The object as the S3 endpoint's anonymous GetObject/HeadObject serves it (ranges, conditions). */
async function serveObject(site: Site, r: SiteRequest, key: string): Promise<void> {
  const method = r.req.method === 'HEAD' ? 'HEAD' : 'GET';
  // Path-style and without the request's query: nothing but the object's key is taken from the URL.
  const objectRoute = route(method, `/${encodeURIComponent(r.bucket)}/${encodeKey(key)}`, r.req.headers, []);
  r.route = objectRoute;
  await authorizeRoute(site.meta, ANONYMOUS.identity, r.req, objectRoute, site.now());
  const manifest = await site.meta.getObject(r.bucket, key);
  if (manifest?.sseCustomer)
    throw new S3Error(
      'InvalidRequest',
      'The object was stored using a form of Server Side Encryption with customer-provided keys, which the website endpoint does not serve.',
    );
  const location = manifest?.metadata[WEBSITE_REDIRECT];
  if (location !== undefined) return redirect(r.res, { status: 301, location });
  await runOperation({
    req: r.req,
    res: r.res,
    route: objectRoute,
    auth: ANONYMOUS,
    credentials: site.credentials,
    store: site.store,
    meta: site.meta,
    region: site.region,
    body: () => verifiedBody(r.req, ANONYMOUS, false),
  });
}

/** Throws what an anonymous GET of `key` would be refused with (403, or 404 to who may list). */
function authorizeAnonymousGet(site: Site, r: SiteRequest, key: string): Promise<void> {
  const check = { action: 's3:GetObject', right: 'read' as const, bucket: r.bucket, key };
  return authorizeAccess(site.meta, ANONYMOUS.identity, r.req, new Map(), check, site.now());
}

/** Whether `key` exists and an anonymous GET of it would be served. */
async function readableObject(site: Site, r: SiteRequest, key: string): Promise<boolean> {
  try {
    await authorizeAnonymousGet(site, r, key);
  } catch {
    return false;
  }
  return (await site.meta.getObject(r.bucket, key)) !== null;
}

/**
 * The custom error document, with the status of the error it stands for. Served only when an
 * anonymous GET of it would be; otherwise the HTML page names both errors, as AWS's.
 */
async function serveErrorDocument(
  site: Site,
  r: SiteRequest,
  config: WebsiteConfiguration,
  error: S3Error,
): Promise<void> {
  const key = config.errorKey!;
  let document;
  try {
    await authorizeAnonymousGet(site, r, key);
    document = await site.store.head(r.bucket, key);
    if (document.sseCustomer)
      throw new S3Error('InvalidRequest', 'The error document is encrypted with a customer key.');
  } catch (e) {
    throw new ErrorDocumentError(error, toS3Error(e));
  }
  const headers = {
    'content-type': document.contentType ?? 'binary/octet-stream',
    'content-length': document.size,
    etag: `"${document.etag}"`,
    'last-modified': new Date(document.lastModified).toUTCString(),
  };
  if (r.req.method === 'HEAD') {
    r.res.writeHead(error.status, headers);
    r.res.end();
    return;
  }
  // The first chunk before the status line, as GetObject: a failure to read it is still an error page.
  const chunks = site.store.readRange(document, 0, document.size);
  const first = await chunks.next();
  r.res.writeHead(error.status, headers);
  await pipeline(Readable.from(startingWith(first, chunks)), r.res);
}

function redirect(res: ServerResponse, to: Redirection): void {
  res.writeHead(to.status, { location: to.location, 'content-length': 0 });
  res.end();
}
