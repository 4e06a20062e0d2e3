import type { Context } from '../context.js';
import { S3Error } from '../errors.js';
import type { Operation } from '../router.js';
import { createBucket, deleteBucket, getBucketLocation, getBucketVersioning, headBucket, listBuckets, putBucketVersioning } from './buckets.js';
import { copyObject } from './copy.js';
import { listObjects, listObjectsV2 } from './list.js';
import { abortMultipartUpload, completeMultipartUpload, createMultipartUpload, listMultipartUploads, listParts, uploadPart } from './multipart.js';
import { deleteObject, deleteObjects, getObject, headObject, putObject } from './objects.js';

export type Handler = (ctx: Context) => Promise<void>;

export const HANDLERS: Record<Operation, Handler> = {
  ListBuckets: listBuckets,
  CreateBucket: createBucket,
  HeadBucket: headBucket,
  DeleteBucket: deleteBucket,
  GetBucketLocation: getBucketLocation,
  GetBucketVersioning: getBucketVersioning,
  PutBucketVersioning: putBucketVersioning,
  ListObjects: listObjects,
  ListObjectsV2: listObjectsV2,
  ListMultipartUploads: listMultipartUploads,
  DeleteObjects: deleteObjects,
  PutObject: putObject,
  CopyObject: copyObject,
  GetObject: getObject,
  HeadObject: headObject,
  DeleteObject: deleteObject,
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListParts: listParts,
  Unsupported: async () => {
    throw new S3Error('NotImplemented', 'A header or query you provided implies functionality that is not implemented.');
  },
};
