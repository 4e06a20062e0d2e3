import { describe, expect, it } from 'vitest';
import { S3Error } from '../../gateway/errors.js';
import { route, type Endpoint } from '../../gateway/router.js';

/** The domains under which `bucket.<domain>` is virtual-hosted-style, as the gateway is configured. */
const DOMAINS = ['s3.amazonaws.com', 's3.us-west-2.amazonaws.com', 'localhost'];

/** One request as AWS's documentation prints it: the request line, then headers. */
function endpointOf(request: string): Endpoint {
  const [line, ...headerLines] = request.trim().split('\n');
  const [method, url] = line!.trim().split(' ');
  const headers = Object.fromEntries(
    headerLines.map((h) => [h.slice(0, h.indexOf(':')).trim().toLowerCase(), h.slice(h.indexOf(':') + 1).trim()]),
  );
  return route(method!, url!, headers, DOMAINS).endpoint;
}

/** What the client sees of a request the router refuses. */
function refusal(request: string): { status: number; code: string; message: string; details: Record<string, string> } {
  try {
    endpointOf(request);
  } catch (e) {
    if (!(e instanceof S3Error)) throw e;
    return { status: e.status, code: e.code, message: e.message, details: e.details };
  }
  throw new Error(`routed: ${request}`);
}

const LIST_V2 = { kind: 'ListObjectsV2', prefix: '', maxKeys: 1000, fetchOwner: false } as const;

/**
 * The request examples of AWS's S3 API reference (virtual-hosted-style, as printed there), each
 * with the endpoint it must become (as Garage's `test_aws_doc_examples`).
 */
const AWS_EXAMPLES: Array<[string, Endpoint]> = [
  ['GET / HTTP/1.1\nHost: s3.us-west-2.amazonaws.com', { kind: 'ListBuckets' }],
  [
    'PUT / HTTP/1.1\nHost: amzn-s3-demo-bucket.s3.us-west-2.amazonaws.com\nContent-Length: 0',
    { kind: 'CreateBucket', bucket: 'amzn-s3-demo-bucket' },
  ],
  [
    'HEAD / HTTP/1.1\nHost: amzn-s3-demo-bucket.s3.us-west-2.amazonaws.com',
    { kind: 'HeadBucket', bucket: 'amzn-s3-demo-bucket' },
  ],
  ['DELETE / HTTP/1.1\nHost: quotes.s3.us-west-2.amazonaws.com', { kind: 'DeleteBucket', bucket: 'quotes' }],
  ['GET /?website HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com', { kind: 'GetBucketWebsite', bucket: 'bucket' }],
  ['PUT /?website HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com', { kind: 'PutBucketWebsite', bucket: 'bucket' }],
  [
    'DELETE /?website HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'DeleteBucketWebsite', bucket: 'bucket' },
  ],
  // The Host of this example has capitals; DNS names are case-insensitive.
  ['GET /?location HTTP/1.1\nHost: myBucket.s3.amazonaws.com', { kind: 'GetBucketLocation', bucket: 'mybucket' }],
  [
    'GET /?versioning HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'GetBucketVersioning', bucket: 'bucket' },
  ],
  [
    'PUT /?versioning HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'PutBucketVersioning', bucket: 'bucket' },
  ],
  [
    'GET /?cors HTTP/1.1\nHost: examplebucket.s3.us-west-2.amazonaws.com',
    { kind: 'GetBucketCors', bucket: 'examplebucket' },
  ],
  [
    'PUT /?cors HTTP/1.1\nHost: examplebucket.s3.us-west-2.amazonaws.com\nContent-MD5: 8dYiLewFWZyGgV2Q5FNI4W==',
    { kind: 'PutBucketCors', bucket: 'examplebucket' },
  ],
  [
    'DELETE /?cors HTTP/1.1\nHost: examplebucket.s3.us-west-2.amazonaws.com',
    { kind: 'DeleteBucketCors', bucket: 'examplebucket' },
  ],
  [
    'GET /?policy HTTP/1.1\nHost: amzn-s3-demo-bucket.s3.us-west-2.amazonaws.com',
    { kind: 'GetBucketPolicy', bucket: 'amzn-s3-demo-bucket' },
  ],
  [
    'PUT /?policy HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com\nContent-Length: 225',
    { kind: 'PutBucketPolicy', bucket: 'bucket' },
  ],
  [
    'DELETE /?policy HTTP/1.1\nHost: BucketName.s3.us-west-2.amazonaws.com',
    { kind: 'DeleteBucketPolicy', bucket: 'bucketname' },
  ],
  ['GET /?acl HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com', { kind: 'GetBucketAcl', bucket: 'bucket' }],
  [
    'PUT /?acl HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com\nx-amz-acl: public-read',
    { kind: 'PutBucketAcl', bucket: 'bucket' },
  ],
  [
    'GET /my-image.jpg?acl HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'GetObjectAcl', bucket: 'bucket', key: 'my-image.jpg' },
  ],
  [
    'PUT /my-image.jpg?acl HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com\nx-amz-acl: public-read',
    { kind: 'PutObjectAcl', bucket: 'bucket', key: 'my-image.jpg' },
  ],
  [
    'GET /?tagging HTTP/1.1\nHost: examplebucket.s3.us-west-2.amazonaws.com',
    { kind: 'GetBucketTagging', bucket: 'examplebucket' },
  ],
  [
    'DELETE /?tagging HTTP/1.1\nHost: examplebucket.s3.us-west-2.amazonaws.com',
    { kind: 'DeleteBucketTagging', bucket: 'examplebucket' },
  ],
  [
    'PUT /example-object?tagging HTTP/1.1\nHost: examplebucket.s3.us-west-2.amazonaws.com',
    { kind: 'PutObjectTagging', bucket: 'examplebucket', key: 'example-object' },
  ],
  [
    'GET /example-object?tagging HTTP/1.1\nHost: examplebucket.s3.us-west-2.amazonaws.com',
    { kind: 'GetObjectTagging', bucket: 'examplebucket', key: 'example-object' },
  ],
  [
    'DELETE /exampleobject?tagging HTTP/1.1\nHost: examplebucket.s3.us-west-2.amazonaws.com',
    { kind: 'DeleteObjectTagging', bucket: 'examplebucket', key: 'exampleobject' },
  ],
  [
    'GET /?ownershipControls HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'GetBucketOwnershipControls', bucket: 'bucket' },
  ],
  [
    'PUT /?ownershipControls HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'PutBucketOwnershipControls', bucket: 'bucket' },
  ],
  [
    'DELETE /?ownershipControls HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'DeleteBucketOwnershipControls', bucket: 'bucket' },
  ],
  [
    'GET /?publicAccessBlock HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'GetPublicAccessBlock', bucket: 'bucket' },
  ],
  [
    'PUT /?publicAccessBlock HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'PutPublicAccessBlock', bucket: 'bucket' },
  ],
  [
    'DELETE /?publicAccessBlock HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'DeletePublicAccessBlock', bucket: 'bucket' },
  ],
  [
    'GET /?policyStatus HTTP/1.1\nHost: amzn-s3-demo-bucket.s3.us-west-2.amazonaws.com',
    { kind: 'GetBucketPolicyStatus', bucket: 'amzn-s3-demo-bucket' },
  ],
  [
    'OPTIONS /exampleobject HTTP/1.1\nHost: examplebucket.s3.amazonaws.com\nOrigin: http://www.example.com\nAccess-Control-Request-Method: PUT',
    { kind: 'PreflightCors', bucket: 'examplebucket', key: 'exampleobject' },
  ],
  [
    'GET /?prefix=N&marker=Ned&max-keys=40 HTTP/1.1\nHost: quotes.s3.us-west-2.amazonaws.com',
    { kind: 'ListObjects', bucket: 'quotes', prefix: 'N', marker: 'Ned', maxKeys: 40 },
  ],
  ['GET /?list-type=2 HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com', { ...LIST_V2, bucket: 'bucket' }],
  [
    'GET /?list-type=2&max-keys=3&prefix=E&start-after=ExampleGuide.pdf HTTP/1.1\nHost: quotes.s3.us-west-2.amazonaws.com',
    { ...LIST_V2, bucket: 'quotes', maxKeys: 3, prefix: 'E', startAfter: 'ExampleGuide.pdf' },
  ],
  [
    'GET /?list-type=2&delimiter=/ HTTP/1.1\nHost: example-bucket.s3.us-west-2.amazonaws.com',
    { ...LIST_V2, bucket: 'example-bucket', delimiter: '/' },
  ],
  [
    'GET /?list-type=2&prefix=photos/2006/&delimiter=/ HTTP/1.1\nHost: example-bucket.s3.us-west-2.amazonaws.com',
    { ...LIST_V2, bucket: 'example-bucket', prefix: 'photos/2006/', delimiter: '/' },
  ],
  [
    'GET /?list-type=2&continuation-token=1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM= HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { ...LIST_V2, bucket: 'bucket', continuationToken: '1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=' },
  ],
  [
    'GET /?list-type=2&fetch-owner=true&encoding-type=url HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { ...LIST_V2, bucket: 'bucket', fetchOwner: true, encodingType: 'url' },
  ],
  [
    'GET /?uploads&max-uploads=3 HTTP/1.1\nHost: example-bucket.s3.us-west-2.amazonaws.com',
    {
      kind: 'ListMultipartUploads',
      bucket: 'example-bucket',
      prefix: '',
      keyMarker: '',
      uploadIdMarker: '',
      maxUploads: 3,
    },
  ],
  [
    'GET /?uploads&delimiter=/&prefix=photos/2006/ HTTP/1.1\nHost: example-bucket.s3.us-west-2.amazonaws.com',
    {
      kind: 'ListMultipartUploads',
      bucket: 'example-bucket',
      prefix: 'photos/2006/',
      delimiter: '/',
      keyMarker: '',
      uploadIdMarker: '',
      maxUploads: 1000,
    },
  ],
  [
    'POST /?delete HTTP/1.1\nHost: bucketname.s3.us-west-2.amazonaws.com\nContent-MD5: p5/WA/oEr30qrEEl21PAqw==',
    { kind: 'DeleteObjects', bucket: 'bucketname' },
  ],
  [
    'POST / HTTP/1.1\nHost: examplebucket.s3.us-west-2.amazonaws.com\nContent-Type: multipart/form-data; boundary=9431149156168',
    { kind: 'PostObject', bucket: 'examplebucket' },
  ],
  [
    'PUT /my-image.jpg HTTP/1.1\nHost: myBucket.s3.us-west-2.amazonaws.com\nContent-Type: text/plain',
    { kind: 'PutObject', bucket: 'mybucket', key: 'my-image.jpg' },
  ],
  [
    'PUT /my-second-image.jpg HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com\nx-amz-copy-source: /bucket/my-image.jpg',
    {
      kind: 'CopyObject',
      bucket: 'bucket',
      key: 'my-second-image.jpg',
      source: { bucket: 'bucket', key: 'my-image.jpg' },
    },
  ],
  [
    'GET /my-image.jpg HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'GetObject', bucket: 'bucket', key: 'my-image.jpg', overrides: {} },
  ],
  [
    'GET /example-object HTTP/1.1\nHost: example-bucket.s3.us-west-2.amazonaws.com\nRange: bytes=0-9',
    { kind: 'GetObject', bucket: 'example-bucket', key: 'example-object', range: { first: 0, last: 9 }, overrides: {} },
  ],
  [
    'GET /Junk3.txt?response-cache-control=No-cache&response-content-disposition=attachment%3B%20filename%3Dtesting.txt&response-content-encoding=x-gzip&response-content-language=mi%2C%20en&response-expires=Thu%2C%2001%20Dec%201994%2016:00:00%20GMT HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    {
      kind: 'GetObject',
      bucket: 'bucket',
      key: 'Junk3.txt',
      overrides: {
        'cache-control': 'No-cache',
        'content-disposition': 'attachment; filename=testing.txt',
        'content-encoding': 'x-gzip',
        'content-language': 'mi, en',
        expires: 'Thu, 01 Dec 1994 16:00:00 GMT',
      },
    },
  ],
  [
    'HEAD /my-image.jpg HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'HeadObject', bucket: 'bucket', key: 'my-image.jpg', overrides: {} },
  ],
  [
    'DELETE /my-second-image.jpg HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'DeleteObject', bucket: 'bucket', key: 'my-second-image.jpg' },
  ],
  [
    'POST /example-object?uploads HTTP/1.1\nHost: example-bucket.s3.us-west-2.amazonaws.com',
    { kind: 'CreateMultipartUpload', bucket: 'example-bucket', key: 'example-object' },
  ],
  [
    'PUT /my-movie.m2ts?partNumber=1&uploadId=VCVsb2FkIElEIGZvciBlbZZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZR HTTP/1.1\nHost: example-bucket.s3.us-west-2.amazonaws.com',
    {
      kind: 'UploadPart',
      bucket: 'example-bucket',
      key: 'my-movie.m2ts',
      partNumber: 1,
      uploadId: 'VCVsb2FkIElEIGZvciBlbZZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZR',
    },
  ],
  [
    'PUT /newobject?partNumber=2&uploadId=VCVsb2FkIElEIGZvciBlbZZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZR HTTP/1.1\nHost: target-bucket.s3.us-west-2.amazonaws.com\nx-amz-copy-source: /source-bucket/sourceobject\nx-amz-copy-source-range:bytes=500-6291456',
    {
      kind: 'UploadPartCopy',
      bucket: 'target-bucket',
      key: 'newobject',
      partNumber: 2,
      uploadId: 'VCVsb2FkIElEIGZvciBlbZZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZR',
      source: { bucket: 'source-bucket', key: 'sourceobject' },
      sourceRange: { start: 500, end: 6291456 },
    },
  ],
  [
    'POST /example-object?uploadId=AAAsb2FkIElEIGZvciBlbHZpbmcncyWeeS1tb3ZpZS5tMnRzIRRwbG9hZA HTTP/1.1\nHost: example-bucket.s3.us-west-2.amazonaws.com',
    {
      kind: 'CompleteMultipartUpload',
      bucket: 'example-bucket',
      key: 'example-object',
      uploadId: 'AAAsb2FkIElEIGZvciBlbHZpbmcncyWeeS1tb3ZpZS5tMnRzIRRwbG9hZA',
    },
  ],
  [
    'DELETE /example-object?uploadId=VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZ HTTP/1.1\nHost: example-bucket.s3.us-west-2.amazonaws.com',
    {
      kind: 'AbortMultipartUpload',
      bucket: 'example-bucket',
      key: 'example-object',
      uploadId: 'VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZ',
    },
  ],
  [
    'GET /example-object?uploadId=XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA&max-parts=2&part-number-marker=1 HTTP/1.1\nHost: example-bucket.s3.us-west-2.amazonaws.com',
    {
      kind: 'ListParts',
      bucket: 'example-bucket',
      key: 'example-object',
      uploadId: 'XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA',
      maxParts: 2,
      partNumberMarker: 1,
    },
  ],
  // Object lock
  [
    'GET /my-image.jpg?retention HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'GetObjectRetention', bucket: 'bucket', key: 'my-image.jpg' },
  ],
  [
    'PUT /my-image.jpg?legal-hold HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'PutObjectLegalHold', bucket: 'bucket', key: 'my-image.jpg' },
  ],
  [
    'PUT /k?retention&versionId=v1 HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'PutObjectRetention', bucket: 'bucket', key: 'k', versionId: 'v1' },
  ],
  [
    'GET /k?legal-hold&versionId=v1 HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'GetObjectLegalHold', bucket: 'bucket', key: 'k', versionId: 'v1' },
  ],
  [
    'GET /?object-lock HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'GetObjectLockConfiguration', bucket: 'bucket' },
  ],
  [
    'PUT /?object-lock HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'PutObjectLockConfiguration', bucket: 'bucket' },
  ],
  // Versioning
  [
    'GET /?versions HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'ListObjectVersions', bucket: 'bucket', prefix: '', keyMarker: '', maxKeys: 1000 },
  ],
  [
    'GET /?versions&key-marker=key2 HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'ListObjectVersions', bucket: 'bucket', prefix: '', keyMarker: 'key2', maxKeys: 1000 },
  ],
  [
    'GET /?versions&key-marker=key3&version-id-marker=t46ZenlYTZBnj HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    {
      kind: 'ListObjectVersions',
      bucket: 'bucket',
      prefix: '',
      keyMarker: 'key3',
      versionIdMarker: 't46ZenlYTZBnj',
      maxKeys: 1000,
    },
  ],
  [
    'GET /myObject?versionId=3/L4kqtJlcpXroDTDmpUMLUo HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'GetObject', bucket: 'bucket', key: 'myObject', versionId: '3/L4kqtJlcpXroDTDmpUMLUo', overrides: {} },
  ],
  [
    'HEAD /my-image.jpg?versionId=3HL4kqCxf3vjVBH40Nrjfkd HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    { kind: 'HeadObject', bucket: 'bucket', key: 'my-image.jpg', versionId: '3HL4kqCxf3vjVBH40Nrjfkd', overrides: {} },
  ],
  [
    'DELETE /my-third-image.jpg?versionId=UIORUnfndfiufdisojhr398493jfdkjFJjkndnqUifhnw89493jJFJ HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com',
    {
      kind: 'DeleteObject',
      bucket: 'bucket',
      key: 'my-third-image.jpg',
      versionId: 'UIORUnfndfiufdisojhr398493jfdkjFJjkndnqUifhnw89493jJFJ',
    },
  ],
  [
    'PUT /my-second-image.jpg HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com\nx-amz-copy-source: /bucket/my-image.jpg?versionId=3/L4kqtJlcpXroDTDmpUMLUo',
    {
      kind: 'CopyObject',
      bucket: 'bucket',
      key: 'my-second-image.jpg',
      source: { bucket: 'bucket', key: 'my-image.jpg', versionId: '3/L4kqtJlcpXroDTDmpUMLUo' },
    },
  ],
  [
    'PUT /?lifecycle HTTP/1.1\nHost: examplebucket.s3.us-west-2.amazonaws.com',
    { kind: 'PutBucketLifecycle', bucket: 'examplebucket' },
  ],
  [
    'GET /?lifecycle HTTP/1.1\nHost: examplebucket.s3.us-west-2.amazonaws.com',
    { kind: 'GetBucketLifecycle', bucket: 'examplebucket' },
  ],
  [
    'DELETE /?lifecycle HTTP/1.1\nHost: examplebucket.s3.us-west-2.amazonaws.com',
    { kind: 'DeleteBucketLifecycle', bucket: 'examplebucket' },
  ],
  [
    'PUT /?encryption HTTP/1.1\nHost: examplebucket.s3.us-west-2.amazonaws.com',
    { kind: 'PutBucketEncryption', bucket: 'examplebucket' },
  ],
  [
    'GET /?encryption HTTP/1.1\nHost: examplebucket.s3.us-west-2.amazonaws.com',
    { kind: 'GetBucketEncryption', bucket: 'examplebucket' },
  ],
  [
    'DELETE /?encryption HTTP/1.1\nHost: examplebucket.s3.us-west-2.amazonaws.com',
    { kind: 'DeleteBucketEncryption', bucket: 'examplebucket' },
  ],
  [
    'GET /example-object?attributes HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com\nx-amz-object-attributes: ETag,ObjectParts, ETag\nx-amz-max-parts: 2\nx-amz-part-number-marker: 1',
    {
      kind: 'GetObjectAttributes',
      bucket: 'bucket',
      key: 'example-object',
      attributes: ['ETag', 'ObjectParts'],
      maxParts: 2,
      partNumberMarker: 1,
    },
  ],
];

/** The examples of the parts of the API not implemented yet: each is 501 NotImplemented, never a wrong answer. */
const NOT_YET: Array<[string, string, string | null]> = [
  ['GET /key?lifecycle HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com', 'lifecycle', 'key'],
  ['GET /key?policy HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com', 'policy', 'key'],
  ['GET /key?publicAccessBlock HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com', 'publicAccessBlock', 'key'],
  ['GET /?attributes HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com', 'attributes', null],
  ['GET /key?encryption HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com', 'encryption', 'key'],
  ['GET /?logging HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com', 'logging', null],
  ['GET /key?website HTTP/1.1\nHost: bucket.s3.us-west-2.amazonaws.com', 'website', 'key'],
];

describe('router: the request examples of the AWS S3 API reference', () => {
  it.each(AWS_EXAMPLES)('%s', (request, expected) => {
    expect(endpointOf(request)).toEqual(expected);
  });

  it.each(NOT_YET)('%s -> Unsupported (%s)', (request, subresource, key) => {
    const bucket = /Host: ([^.]+)\./.exec(request)![1]!;
    expect(endpointOf(request)).toEqual({ kind: 'Unsupported', bucket, key, subresource });
  });
});

describe('router: addressing', () => {
  it('reads path-style and virtual-hosted-style alike, a port in the Host aside', () => {
    const expected = {
      kind: 'GetObject',
      bucket: 'examplebucket',
      key: 'photos/2006/January/sample.jpg',
      overrides: {},
    };
    expect(
      endpointOf('GET /examplebucket/photos/2006/January/sample.jpg HTTP/1.1\nHost: s3.us-west-2.amazonaws.com'),
    ).toEqual(expected);
    expect(
      endpointOf('GET /photos/2006/January/sample.jpg HTTP/1.1\nHost: examplebucket.s3.us-west-2.amazonaws.com'),
    ).toEqual(expected);
    expect(endpointOf('GET /photos/2006/January/sample.jpg HTTP/1.1\nHost: examplebucket.localhost:9000')).toEqual(
      expected,
    );
    expect(endpointOf('GET /examplebucket/photos/2006/January/sample.jpg HTTP/1.1\nHost: 127.0.0.1:9000')).toEqual(
      expected,
    );
    expect(endpointOf('GET /examplebucket?list-type=2 HTTP/1.1\nHost: 127.0.0.1:9000')).toEqual({
      ...LIST_V2,
      bucket: 'examplebucket',
    });
    expect(endpointOf('GET /examplebucket/?list-type=2 HTTP/1.1\nHost: 127.0.0.1:9000')).toEqual({
      ...LIST_V2,
      bucket: 'examplebucket',
    });
    expect(endpointOf('GET / HTTP/1.1\nHost: 127.0.0.1:9000')).toEqual({ kind: 'ListBuckets' });
    expect(endpointOf('OPTIONS /b HTTP/1.1\nHost: 127.0.0.1:9000')).toEqual({
      kind: 'PreflightCors',
      bucket: 'b',
      key: null,
    });
  });

  it('decodes keys and query values as S3 does: %XX escapes, `+` a plus sign', () => {
    expect(endpointOf('PUT /b/a%20b%2Bc/d+e HTTP/1.1\nHost: 127.0.0.1')).toEqual({
      kind: 'PutObject',
      bucket: 'b',
      key: 'a b+c/d+e',
    });
    expect(endpointOf('GET /b?prefix=a+b%20c&delimiter= HTTP/1.1\nHost: 127.0.0.1')).toEqual({
      kind: 'ListObjects',
      bucket: 'b',
      prefix: 'a+b c',
      marker: '',
      maxKeys: 1000,
    });
    expect(endpointOf('PUT /b/k HTTP/1.1\nHost: 127.0.0.1\nx-amz-copy-source: src/dir%2Fa%20b')).toEqual({
      kind: 'CopyObject',
      bucket: 'b',
      key: 'k',
      source: { bucket: 'src', key: 'dir/a b' },
    });
  });

  it('reads the Range header S3 serves and ignores the rest, as S3 does', () => {
    const range = (value: string) =>
      (endpointOf(`GET /b/k HTTP/1.1\nHost: 127.0.0.1\nRange: ${value}`) as Endpoint<'GetObject'>).range;
    expect(range('bytes=0-9')).toEqual({ first: 0, last: 9 });
    expect(range('bytes=100-')).toEqual({ first: 100 });
    expect(range('bytes=-500')).toEqual({ suffix: 500 });
    for (const ignored of ['bytes=0-1,5-6', 'bytes=9-2', 'bytes=-', 'items=0-9', 'garbage'])
      expect(range(ignored), ignored).toBeUndefined();
  });

  it('caps page sizes at 1000 and names the null version as any other', () => {
    expect(endpointOf('GET /b?list-type=2&max-keys=5000 HTTP/1.1\nHost: 127.0.0.1')).toEqual({
      ...LIST_V2,
      bucket: 'b',
    });
    expect(
      endpointOf('GET /b?versions&max-keys=5000&prefix=p&delimiter=/&encoding-type=url HTTP/1.1\nHost: 127.0.0.1'),
    ).toEqual({
      kind: 'ListObjectVersions',
      bucket: 'b',
      prefix: 'p',
      delimiter: '/',
      keyMarker: '',
      maxKeys: 1000,
      encodingType: 'url',
    });
    expect(endpointOf('GET /b/k?uploadId=u&max-parts=0 HTTP/1.1\nHost: 127.0.0.1')).toMatchObject({
      kind: 'ListParts',
      maxParts: 0,
      partNumberMarker: 0,
    });
    expect(endpointOf('GET /b/k?versionId=null&partNumber=3 HTTP/1.1\nHost: 127.0.0.1')).toEqual({
      kind: 'GetObject',
      bucket: 'b',
      key: 'k',
      partNumber: 3,
      versionId: 'null',
      overrides: {},
    });
    expect(endpointOf('DELETE /b/k?versionId=null HTTP/1.1\nHost: 127.0.0.1')).toEqual({
      kind: 'DeleteObject',
      bucket: 'b',
      key: 'k',
      versionId: 'null',
    });
    expect(
      endpointOf('PUT /b/k?partNumber=2&uploadId=u HTTP/1.1\nHost: 127.0.0.1\nx-amz-copy-source: src/k?versionId=v1'),
    ).toMatchObject({
      kind: 'UploadPartCopy',
      source: { bucket: 'src', key: 'k', versionId: 'v1' },
    });
  });
});

describe('router: invalid requests fail before any operation runs, with the error AWS gives', () => {
  const partMessage = 'Part number must be an integer between 1 and 10000, inclusive';

  it.each([
    ['PUT /b/k?partNumber=0&uploadId=u', '0'],
    ['PUT /b/k?partNumber=10001&uploadId=u', '10001'],
    ['PUT /b/k?partNumber=abc&uploadId=u', 'abc'],
    ['PUT /b/k?partNumber=1.5&uploadId=u', '1.5'],
    ['PUT /b/k?partNumber=&uploadId=u', ''],
    ['PUT /b/k?uploadId=u', ''],
    ['GET /b/k?partNumber=0', '0'],
    ['HEAD /b/k?partNumber=-1', '-1'],
  ])('%s -> InvalidArgument (partNumber)', (request, value) => {
    expect(refusal(`${request} HTTP/1.1\nHost: 127.0.0.1`)).toEqual({
      status: 400,
      code: 'InvalidArgument',
      message: partMessage,
      details: { ArgumentName: 'partNumber', ArgumentValue: value },
    });
    expect(refusal(`${request} HTTP/1.1\nHost: 127.0.0.1\nx-amz-copy-source: src/k`).message).toBe(partMessage);
  });

  it.each([
    ['GET /b?max-keys=-1', 'Argument maxKeys must be an integer between 0 and 2147483647', 'max-keys', '-1'],
    ['GET /b?list-type=2&max-keys=abc', 'Provided max-keys not an integer or within integer range', 'max-keys', 'abc'],
    [
      'GET /b?list-type=2&max-keys=2147483648',
      'Provided max-keys not an integer or within integer range',
      'max-keys',
      '2147483648',
    ],
    ['GET /b?list-type=2&max-keys=', 'Provided max-keys not an integer or within integer range', 'max-keys', ''],
    [
      'GET /b?uploads&max-uploads=-5',
      'Argument max-uploads must be an integer between 0 and 2147483647',
      'max-uploads',
      '-5',
    ],
    [
      'GET /b/k?uploadId=u&max-parts=1e3',
      'Provided max-parts not an integer or within integer range',
      'max-parts',
      '1e3',
    ],
    [
      'GET /b/k?uploadId=u&part-number-marker=-1',
      'Argument part-number-marker must be an integer between 0 and 2147483647',
      'part-number-marker',
      '-1',
    ],
    [
      'GET /b?list-type=2&encoding-type=base64',
      'Invalid Encoding Method specified in Request',
      'encoding-type',
      'base64',
    ],
    ['GET /b?uploads&encoding-type=URL', 'Invalid Encoding Method specified in Request', 'encoding-type', 'URL'],
    ['GET /b/k?versionId=', 'Version id cannot be the empty string', 'versionId', ''],
    [
      'GET /b?versions&version-id-marker=v1',
      'A version-id marker cannot be specified without a key marker.',
      'version-id-marker',
      'v1',
    ],
  ])('%s -> InvalidArgument', (request, message, name, value) => {
    expect(refusal(`${request} HTTP/1.1\nHost: 127.0.0.1`)).toEqual({
      status: 400,
      code: 'InvalidArgument',
      message,
      details: { ArgumentName: name, ArgumentValue: value },
    });
  });

  it('refuses copy sources and ranges that do not parse', () => {
    const copy = (source: string, range = '') =>
      refusal(
        `PUT /b/k?partNumber=1&uploadId=u HTTP/1.1\nHost: 127.0.0.1\nx-amz-copy-source: ${source}${range && `\nx-amz-copy-source-range: ${range}`}`,
      );
    for (const source of ['src', '/src/', '/src', '%E0%A4%A/k']) {
      expect(copy(source), source).toMatchObject({
        code: 'InvalidArgument',
        message: 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      });
    }
    for (const range of ['bytes=5-', 'bytes=5-2', 'bytes=-5', '5-10']) {
      expect(copy('src/k', range), range).toMatchObject({
        code: 'InvalidArgument',
        details: { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: range },
      });
    }
  });

  it('refuses methods a resource does not have, bad URIs and long keys', () => {
    for (const request of ['POST /b/k', 'PUT /', 'DELETE /', 'PATCH /b', 'PATCH /b/k', 'POST /b/k?delete']) {
      expect(refusal(`${request} HTTP/1.1\nHost: 127.0.0.1`), request).toMatchObject({
        status: 405,
        code: 'MethodNotAllowed',
      });
    }
    for (const request of ['GET /b/%E0%A4%A', 'GET /%ZZ/k', 'GET /b?prefix=%E0%A4%A', 'GET b/k']) {
      expect(refusal(`${request} HTTP/1.1\nHost: 127.0.0.1`), request).toMatchObject({
        status: 400,
        code: 'InvalidURI',
      });
    }
    expect(refusal(`PUT /b/${'k'.repeat(1025)} HTTP/1.1\nHost: 127.0.0.1`)).toMatchObject({
      status: 400,
      code: 'KeyTooLongError',
    });
    expect(endpointOf(`PUT /b/${'k'.repeat(1024)} HTTP/1.1\nHost: 127.0.0.1`)).toMatchObject({ kind: 'PutObject' });
  });
});
