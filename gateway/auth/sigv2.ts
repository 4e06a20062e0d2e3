import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { S3Error } from '../errors.js';
import type { Route } from '../router.js';
import { decodeComponent } from '../router/query.js';
import type { Credentials, KnownKey } from './credentials.js';
import { checkSkew, invalidDate, parseRequestDate, sameSignature, wireText } from './signing.js';

/**
 * Signature Version 2 ("Signing and authenticating REST requests"): base64 HMAC-SHA1 of a
 * StringToSign, in an `Authorization: AWS key:signature` header or a presigned URL's
 * `AWSAccessKeyId`, `Expires` and `Signature`. AWS still accepts it from existing clients
 * (boto3 `signature_version='s3'`, s3cmd `--signature-v2`, old SDKs). Only the signature differs
 * from SigV4: the key found here is authorised like any other.
 */

export interface V2Options {
  credentials: Credentials;
  /** Unix milliseconds. */
  now: number;
}

/**
 * The query parameters that are part of the resource signed (AWS's list, as the SDKs sign it).
 * Any other parameter is not signed: a signature must be checked against exactly these.
 */
const SUB_RESOURCES = new Set([
  'accelerate',
  'acl',
  'analytics',
  'cors',
  'defaultObjectAcl',
  'delete',
  'inventory',
  'lifecycle',
  'location',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'partNumber',
  'policy',
  'replication',
  'requestPayment',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  'restore',
  'select',
  'select-type',
  'storageClass',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
]);

/** `Authorization: AWS <key>:<signature>`, dated by x-amz-date or Date (15 minutes' skew). */
export async function verifyV2Header(
  req: IncomingMessage,
  route: Route,
  header: string,
  o: V2Options,
): Promise<KnownKey> {
  const credential = header.slice('AWS '.length);
  const colon = credential.indexOf(':');
  if (colon <= 0 || colon === credential.length - 1) {
    throw new S3Error('InvalidArgument', 'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature');
  }
  // x-amz-date, when present (even empty), is the request's time: clients that cannot set Date use it.
  const amzDate = req.headersDistinct['x-amz-date']?.join(',');
  const date = req.headers.date;
  const time = parseRequestDate(amzDate ?? date ?? '');
  if (time === null) throw invalidDate();
  checkSkew(time, o.now);
  // AWS signs an empty Date line when x-amz-date is sent; botocore signs the Date it sends anyway.
  const dateLines = amzDate === undefined ? [date ?? ''] : ['', ...(date === undefined ? [] : [date])];
  const candidates = dateLines.flatMap((line) => stringsToSign(req, route, line));
  return verifyV2Signature(o.credentials, credential.slice(0, colon), candidates, credential.slice(colon + 1));
}

/** A presigned URL: `AWSAccessKeyId`, `Expires` (Unix seconds, the StringToSign's date) and `Signature`. */
export async function verifyV2Presigned(req: IncomingMessage, route: Route, o: V2Options): Promise<KnownKey> {
  const [accessKeyId, expires, signature] = ['AWSAccessKeyId', 'Expires', 'Signature'].map((n) => route.query.get(n));
  if (!accessKeyId || !expires || !signature) {
    throw new S3Error(
      'AccessDenied',
      'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters',
    );
  }
  if (!/^\d+$/.test(expires) || o.now >= Number(expires) * 1000)
    throw new S3Error('AccessDenied', 'Request has expired');
  return verifyV2Signature(o.credentials, accessKeyId, stringsToSign(req, route, expires), signature);
}

/**
 * The key whose base64 HMAC-SHA1 of one of the candidate strings is the signature claimed
 * (compared in constant time). Also the check of a SigV2 POST form, whose string is its policy.
 */
export async function verifyV2Signature(
  credentials: Credentials,
  accessKeyId: string,
  candidates: string[],
  signature: string,
): Promise<KnownKey> {
  const key = await credentials.lookup(accessKeyId);
  if (!key)
    throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  for (const text of candidates) {
    const expected = createHmac('sha1', key.secret).update(text, 'utf8').digest('base64');
    if (sameSignature(expected, signature)) return key;
  }
  throw new S3Error(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  );
}

/** VERB, Content-MD5, Content-Type, date line, x-amz-* headers, resource: AWS's StringToSign. */
function stringsToSign(req: IncomingMessage, route: Route, dateLine: string): string[] {
  const h = req.headers;
  const head = [req.method ?? 'GET', h['content-md5'] ?? '', h['content-type'] ?? '', dateLine, ...amzHeaders(req)];
  return canonicalResources(route).map((resource) => [...head, resource].join('\n'));
}

/** `name:value` of every x-amz-* header, sorted; repeated headers' values joined by commas. */
function amzHeaders(req: IncomingMessage): string[] {
  return Object.entries(req.headersDistinct)
    .filter(([name]) => name.startsWith('x-amz-'))
    .sort(([a], [b]) => byCodePoint(a, b))
    .map(([name, values]) => `${name}:${(values ?? []).map((v) => wireText(v.trim())).join(',')}`);
}

/**
 * The path as sent (under `/bucket` when virtual-hosted) and the signed sub-resources, sorted. A
 * bucket is `/bucket` or `/bucket/`: botocore signs the second for path-style requests too.
 */
function canonicalResources(route: Route): string[] {
  const path = route.virtualHosted ? `/${route.bucket}${route.rawPath}` : route.rawPath;
  const paths =
    route.bucket !== null && route.key === null ? [path, path.endsWith('/') ? path.slice(0, -1) : `${path}/`] : [path];
  const subResources = route.rawQuery
    .split('&')
    .map((pair): [string, string | null] => {
      const eq = pair.indexOf('=');
      return eq < 0 ? [pair, null] : [pair.slice(0, eq), decodeComponent(pair.slice(eq + 1))];
    })
    .filter(([name]) => SUB_RESOURCES.has(name))
    .sort(([a], [b]) => byCodePoint(a, b))
    .map(([name, value]) => (value === null ? name : `${name}=${value}`));
  const query = subResources.length === 0 ? '' : `?${subResources.join('&')}`;
  return paths.map((p) => p + query);
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
