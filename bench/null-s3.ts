/**
 * An S3 endpoint that does no work: the client's ceiling. bench/s3.ts runs the 4 KiB and
 * listing loads against it with the same SDK client as against qstor, so each figure can be
 * read beside what the client alone can drive on this machine (both share its 2 cores).
 *
 *   node dist/bench/null-s3.js PORT LIST_KEYS
 *
 * PUT drains the body and answers an ETag; GET answers 4 KiB; HEAD its headers; DELETE 204;
 * ListObjectsV2 pages of 1000 keys shaped as qstor's (Key, LastModified, ETag, Size,
 * StorageClass) over LIST_KEYS keys in order. No authentication, no storage. Prints "ready".
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';

const port = Number(process.argv[2]);
const listKeys = Number(process.argv[3]);
if (!(port > 0 && listKeys > 0)) throw new Error('usage: null-s3.js PORT LIST_KEYS');

const BODY = randomBytes(4096);
const ETAG = '"0f343b0931126a20f133d67c2b018a3b"';
const MODIFIED = 'Tue, 01 Dec 2026 00:00:00 GMT';
const PAGE = 1000;

function keyAt(i: number): string {
  return `obj-${i.toString(16).padStart(8, '0')}`;
}

function listPage(token: string | null): string {
  const first = token === null ? 0 : Number(token);
  const last = Math.min(listKeys, first + PAGE);
  let xml = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>list</Name><Prefix></Prefix><MaxKeys>${PAGE}</MaxKeys><KeyCount>${last - first}</KeyCount><IsTruncated>${last < listKeys}</IsTruncated>`;
  if (token !== null) xml += `<ContinuationToken>${token}</ContinuationToken>`;
  if (last < listKeys) xml += `<NextContinuationToken>${last}</NextContinuationToken>`;
  for (let i = first; i < last; i++) {
    xml += `<Contents><Key>${keyAt(i)}</Key><LastModified>2026-12-01T00:00:00.000Z</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>`;
  }
  return `${xml}</ListBucketResult>`;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers = { 'x-amz-request-id': '0', etag: ETAG, 'last-modified': MODIFIED };
  switch (req.method) {
    case 'PUT':
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { ...headers, 'content-length': 0 });
        res.end();
      });
      return;
    case 'DELETE':
      res.writeHead(204, { 'x-amz-request-id': '0' });
      res.end();
      return;
    case 'HEAD':
      res.writeHead(200, { ...headers, 'content-length': BODY.length, 'content-type': 'application/octet-stream' });
      res.end();
      return;
    default:
      if (url.searchParams.get('list-type') === '2') {
        const xml = listPage(url.searchParams.get('continuation-token'));
        res.writeHead(200, {
          'x-amz-request-id': '0',
          'content-type': 'application/xml',
          'content-length': Buffer.byteLength(xml),
        });
        res.end(xml);
        return;
      }
      res.writeHead(200, { ...headers, 'content-length': BODY.length, 'content-type': 'application/octet-stream' });
      res.end(BODY);
  }
});
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
