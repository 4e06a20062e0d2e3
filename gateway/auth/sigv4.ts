import type { IncomingMessage } from 'node:http';
import { HttpRequest } from '@smithy/protocol-http';
import { ALGORITHM_IDENTIFIER, getCanonicalHeaders, SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../src/util/node-sha256.js';
import { S3Error } from '../errors.js';
import { parseQuery, type Operation, type Route } from '../router.js';
import type { Credentials, Identity, KnownKey } from './credentials.js';
import {
  amzDate,
  checkSkew,
  invalidDate,
  MAX_SKEW_MS,
  parseRequestDate,
  sameSignature,
  sha256Hex,
  signingKey,
  wireText,
  type SigningChain,
} from './signing.js';
import { verifyV2Header, verifyV2Presigned } from './sigv2.js';

/** What a verified request tells the rest of the gateway. */
export interface Authenticated {
  identity: Identity;
  /** x-amz-content-sha256 as signed: a hex digest, UNSIGNED-PAYLOAD or a STREAMING-* mode. */
  payload: string;
  chain: SigningChain;
}

export interface AuthOptions {
  credentials: Credentials;
  region: string;
  /** Unix milliseconds (tests move the clock). */
  now: number;
}

/**
 * Who a request without SigV4 is: no grants, no body signature. Authorisation allows it only what
 * a bucket's ACL or policy allows everyone (a CORS preflight and a POST form, whose fields carry
 * its own credential, are not authorised as the request).
 */
export const ANONYMOUS: Authenticated = {
  identity: { accessKeyId: '', root: false, anonymous: true },
  payload: 'UNSIGNED-PAYLOAD',
  chain: { key: Buffer.alloc(0), longDate: '', scope: '', seed: '' },
};

/** Operations that carry their credentials elsewhere, or none. */
const UNSIGNED_OPERATIONS = new Set<Operation>(['PreflightCors', 'PostObject']);

const MAX_PRESIGNED_SECONDS = 7 * 24 * 3600;

/** The fields both forms of SigV4 carry. */
interface Claim {
  credential: string;
  signedHeaders: string[];
  signature: string;
  longDate: string;
}

/**
 * Verifies a SigV4 request, signed in its Authorization header or presigned in its query. The
 * canonical request is rebuilt from the signed headers only and signed with the key's secret by
 * @smithy/signature-v4 (the signer the SDKs use); the signatures are compared in constant time.
 */
export async function authenticate(req: IncomingMessage, route: Route, o: AuthOptions): Promise<Authenticated> {
  if (UNSIGNED_OPERATIONS.has(route.endpoint.kind)) return ANONYMOUS;
  const header = req.headers.authorization;
  // An empty header carries no credentials: anonymous, refused (403) unless the bucket allows it.
  if (header !== undefined && header !== '') {
    if (header.startsWith('AWS ')) return signedV2(await verifyV2Header(req, route, header, o));
    return authenticateHeader(req, route, header, o);
  }
  if (route.query.has('X-Amz-Algorithm')) return authenticatePresigned(req, route, o);
  if (route.query.has('AWSAccessKeyId')) return signedV2(await verifyV2Presigned(req, route, o));
  return ANONYMOUS;
}

/** A SigV2 request: the key is verified; the body is not signed (Content-MD5 may check it). */
function signedV2(identity: KnownKey): Authenticated {
  return { identity, payload: 'UNSIGNED-PAYLOAD', chain: ANONYMOUS.chain };
}

async function authenticateHeader(
  req: IncomingMessage,
  route: Route,
  header: string,
  o: AuthOptions,
): Promise<Authenticated> {
  const match = /^AWS4-HMAC-SHA256 (.+)$/.exec(header);
  if (!match) throw unsupportedScheme();
  const fields = new Map(
    match[1]!.split(',').map((part) => {
      const eq = part.indexOf('=');
      return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()] as const;
    }),
  );
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      'The authorization header is malformed; it must contain Credential, SignedHeaders and Signature.',
    );
  }
  const longDate = requestLongDate(req);
  const claim: Claim = { credential, signedHeaders: signedHeaders.split(';'), signature, longDate };
  const { key, scope, time } = await resolveCredential(
    claim.credential,
    claim.longDate,
    o,
    'AuthorizationHeaderMalformed',
  );
  checkSkew(time, o.now);
  if (!claim.signedHeaders.includes('host'))
    throw new S3Error('AuthorizationHeaderMalformed', 'The host header must be signed.');
  const payload = req.headers['x-amz-content-sha256'];
  if (typeof payload !== 'string')
    throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');

  return verified(req, route, o.region, claim, { key, scope, time }, payload);
}

/** X-Amz-Expires in seconds, 0 to a week; outside that 403 with AWS's messages. */
function checkExpires(text: string): number {
  const expires = Number(text);
  const refuse = (message: string): S3Error => new S3Error('AuthorizationQueryParametersError', message, 403);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(expires)) throw refuse('X-Amz-Expires should be a number');
  if (expires < 0) throw refuse('X-Amz-Expires must be non-negative');
  if (expires > MAX_PRESIGNED_SECONDS) {
    throw refuse(
      'X-Amz-Expires must be less than a week (in seconds) that is; the given X-Amz-Expires must be less than 604800 seconds',
    );
  }
  return expires;
}

async function authenticatePresigned(req: IncomingMessage, route: Route, o: AuthOptions): Promise<Authenticated> {
  const q = route.query;
  if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') {
    throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  }
  const [credential, signedHeaders, signature, longDate, expiresText] = [
    'X-Amz-Credential',
    'X-Amz-SignedHeaders',
    'X-Amz-Signature',
    'X-Amz-Date',
    'X-Amz-Expires',
  ].map((n) => q.get(n));
  if (!credential || !signedHeaders || !signature || !longDate || !expiresText) {
    throw new S3Error(
      'AuthorizationQueryParametersError',
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  const expires = checkExpires(expiresText);
  const claim: Claim = { credential, signedHeaders: signedHeaders.split(';'), signature, longDate };
  const { key, scope, time } = await resolveCredential(
    claim.credential,
    claim.longDate,
    o,
    'AuthorizationQueryParametersError',
  );
  // A lifetime of 0 is valid and already over (403 like any expired URL), as on AWS.
  if (o.now >= time + expires * 1000) throw new S3Error('AccessDenied', 'Request has expired');
  if (time - o.now > MAX_SKEW_MS) throw new S3Error('AccessDenied', 'Request is not valid yet');

  const payload = q.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD';
  return verified(req, route, o.region, claim, { key, scope, time }, payload);
}

/**
 * The request authenticated when `claim.signature` is the one its key makes over it (one of its
 * path's canonical forms; the canonical query is the query as sent, X-Amz-Signature aside, which
 * the signer leaves out), for both forms of SigV4; else SignatureDoesNotMatch.
 */
async function verified(
  req: IncomingMessage,
  route: Route,
  region: string,
  claim: Claim,
  { key, scope, time }: { key: KnownKey; scope: string; time: number },
  payload: string,
): Promise<Authenticated> {
  const verifier = verifierFor(key, region);
  const { longDate } = claim;
  const expected = await firstMatch(canonicalPaths(route.rawPath), claim.signature, (path) =>
    verifier.signatureOf(httpRequest(req, path, queryRecord(route.rawQuery), claim.signedHeaders), payload, {
      longDate,
      scope,
      time,
    }),
  );
  return {
    identity: key,
    payload,
    chain: { key: signingKey(key.secret, longDate.slice(0, 8), region, 's3'), longDate, scope, seed: expected },
  };
}

/**
 * The request time as X-Amz-Date, or the Date header's (SigV4 signs `date` when a client sends
 * no x-amz-date, as botocore does once a Date header is set) in X-Amz-Date's form.
 */
function requestLongDate(req: IncomingMessage): string {
  const amz = req.headers['x-amz-date'];
  if (typeof amz === 'string') return amz;
  const time = parseRequestDate(req.headers.date ?? '');
  if (time === null) throw invalidDate();
  return amzDate(time);
}

function unsupportedScheme(): S3Error {
  return new S3Error(
    'InvalidRequest',
    'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
  );
}

/**
 * The key, credential scope and request time of a credential (`key/date/region/s3/aws4_request`)
 * and an X-Amz-Date, checked against each other and this region. `malformedCode` is how the
 * carrier (header, query, POST form) reports a malformed credential.
 */
export async function resolveCredential(
  credential: string,
  longDate: string,
  o: Pick<AuthOptions, 'credentials' | 'region'>,
  malformedCode: 'AuthorizationHeaderMalformed' | 'AuthorizationQueryParametersError' | 'InvalidArgument',
): Promise<{ key: KnownKey; scope: string; time: number }> {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || parts[3] !== 's3') {
    throw new S3Error(
      malformedCode,
      `The credential "${credential}" is malformed; expected "<key>/<date>/<region>/s3/aws4_request".`,
    );
  }
  const [accessKeyId, shortDate, region] = parts as [string, string, string];
  const key = await o.credentials.lookup(accessKeyId);
  if (!key)
    throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  const time = /^\d{8}T\d{6}Z$/.test(longDate) ? parseRequestDate(longDate) : null;
  if (time === null) throw invalidDate();
  if (shortDate !== longDate.slice(0, 8))
    throw new S3Error(malformedCode, `The credential date "${shortDate}" does not match the request date.`);
  if (region !== o.region) {
    // As AWS: the right region in the body and a header, from which clients (botocore, s3cmd)
    // learn it and sign again; the header is all a HEAD gets.
    throw new S3Error(
      malformedCode,
      `The authorization header is malformed; the region '${region}' is wrong; expecting '${o.region}'`,
      undefined,
      { 'x-amz-bucket-region': o.region },
      { Region: o.region },
    );
  }
  return { key, scope: parts.slice(1).join('/'), time };
}

/**
 * The SDKs' signer turned verifier: the canonical request holds exactly the headers the client
 * signed, as received. (Its own signRequest drops a `date` header to sign a fresh x-amz-date, but
 * SigV4 lets a client sign `date` instead of x-amz-date, as botocore does once a Date header is
 * set; the string to sign then carries that date in X-Amz-Date's form.)
 */
class SignatureVerifier extends SignatureV4 {
  /** The signature of `request`, which holds only the signed headers, made at `time` (`longDate`). */
  async signatureOf(
    request: HttpRequest,
    payloadHash: string,
    { longDate, scope, time }: { longDate: string; scope: string; time: number },
  ): Promise<string> {
    const headers = getCanonicalHeaders(request, undefined, new Set(Object.keys(request.headers)));
    const canonical = this.createCanonicalRequest(request, headers, payloadHash);
    const stringToSign = await this.createStringToSign(longDate, scope, canonical, ALGORITHM_IDENTIFIER);
    return this.sign(stringToSign, { signingDate: new Date(time) });
  }
}

/**
 * One verifier per key, secret and region: a signer caches its derived signing keys, so a
 * request costs one HMAC chain a day instead of one each.
 */
const verifiers = new Map<string, SignatureVerifier>();
const MAX_VERIFIERS = 1024;

function verifierFor(key: KnownKey, region: string): SignatureVerifier {
  // A changed secret must not find the old verifier; the secret itself stays out of the map.
  const id = `${key.accessKeyId}\0${sha256Hex(key.secret)}\0${region}`;
  let verifier = verifiers.get(id);
  if (!verifier) {
    if (verifiers.size >= MAX_VERIFIERS) verifiers.clear();
    verifier = new SignatureVerifier({
      credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secret },
      region,
      service: 's3',
      sha256: NodeSha256,
      uriEscapePath: false, // S3 signs the path as encoded once; canonicalPaths gives that form
      applyChecksum: false,
    });
    verifiers.set(id, verifier);
  }
  return verifier;
}

function httpRequest(
  req: IncomingMessage,
  path: string,
  query: Record<string, string | string[]>,
  signedHeaders: string[],
): HttpRequest {
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = req.headers[name];
    // A signed header that is absent cannot match: the signature check fails on its own.
    if (value !== undefined) headers[name] = wireText(Array.isArray(value) ? value.join(',') : value);
  }
  return new HttpRequest({
    method: req.method ?? 'GET',
    protocol: 'http:',
    hostname: 'localhost',
    path,
    query,
    headers,
  });
}

/** The query as the signer wants it. */
function queryRecord(raw: string): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {};
  for (const [name, value] of parseQuery(raw)) {
    const prior = record[name];
    record[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return record;
}

/**
 * The canonical URI: each segment percent-encoded once, as AWS's UriEncode does. Clients that
 * encode differently on the wire (`~`, `!`, `%2F` in keys) signed that form, so the path as
 * sent is the second candidate.
 */
function canonicalPaths(rawPath: string): string[] {
  let canonical: string;
  try {
    canonical = rawPath
      .split('/')
      .map((segment) => uriEncode(decodeURIComponent(segment)))
      .join('/');
  } catch {
    return [rawPath];
  }
  return canonical === rawPath ? [canonical] : [canonical, rawPath];
}

function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The first candidate whose signature matches the claimed one, else SignatureDoesNotMatch. */
async function firstMatch(
  candidates: string[],
  claimed: string,
  sign: (candidate: string) => Promise<string>,
): Promise<string> {
  for (const candidate of candidates) {
    const expected = await sign(candidate);
    if (sameSignature(expected, claimed)) return expected;
  }
  throw new S3Error(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  );
}
