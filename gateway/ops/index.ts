import type { Context } from '../context.js';
import { S3Error } from '../errors.js';
import type { Operation } from '../router.js';
import { createBucket, deleteBucket, getBucketLocation, getBucketVersioning, headBucket, listBuckets, putBucketVersioning } from './buckets.js';
import { copyObject } from './copy.js';
import { deleteBucketCors, getBucketCors, preflightCors, putBucketCors, setCorsHeaders } from './cors.js';
import { listObjects, listObjectsV2 } from './list.js';
import { abortMultipartUpload, completeMultipartUpload, createMultipartUpload, listMultipartUploads, listParts, uploadPart } from './multipart.js';
import { deleteObject, deleteObjects, getObject, headObject, putObject } from './objects.js';
import { uploadPartCopy } from './part-copy.js';
import { postObject } from './post-object.js';

export type Handler = (ctx: Context) => Promise<void>;

/** A handler whose response (or error) carries the CORS headers a matching Origin gets. */
function withCors(handler: Handler): Handler {
  return async (ctx) => {
    await setCorsHeaders(ctx);
    await handler(ctx);
  };
}

const OPERATIONS: Record<Operation, Handler> = {
  ListBuckets: listBuckets,
  CreateBucket: createBucket,
  HeadBucket: headBucket,
  DeleteBucket: deleteBucket,
  GetBucketLocation: getBucketLocation,
  GetBucketVersioning: getBucketVersioning,
  PutBucketVersioning: putBucketVersioning,
  GetBucketCors: getBucketCors,
  PutBucketCors: putBucketCors,
  DeleteBucketCors: deleteBucketCors,
  PreflightCors: preflightCors,
  ListObjects: listObjects,
  ListObjectsV2: listObjectsV2,
  ListMultipartUploads: listMultipartUploads,
  DeleteObjects: deleteObjects,
  PutObject: putObject,
  PostObject: postObject,
  CopyObject: copyObject,
  GetObject: getObject,
  HeadObject: headObject,
  DeleteObject: deleteObject,
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  UploadPartCopy: uploadPartCopy,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListParts: listParts,
  Unsupported: async () => {
    throw new S3Error('NotImplemented', 'A header or query you provided implies functionality that is not implemented.');
  },
};

/** Every operation but the preflight (which answers CORS itself) adds CORS headers for a matching Origin. */
export const HANDLERS = Object.fromEntries(
  Object.entries(OPERATIONS).map(([op, handler]) => [op, op === 'PreflightCors' ? handler : withCors(handler)]),
) as Record<Operation, Handler>;
