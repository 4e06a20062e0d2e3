import type { TLSSocket } from 'node:tls';
import { checkedBody, namedChecksums } from '../auth/checksums.js';
import { authorizeAccess } from '../auth/request-access.js';
import { verifyPostPolicy, type PostGrant } from '../auth/post-policy.js';
import { bucketOf, header, sendEmpty, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { readForm, type Form } from '../form-data.js';
import { el, XML_HEADER } from '../xml.js';
import { newObjectAcl } from './acl.js';
import { createdVersionHeaders, headersToStore } from './object-headers.js';
import { formTags } from './tagging.js';
import { lockFrom } from './object-lock.js';
import { MAX_PUT_SIZE } from './objects.js';
import { objectEncryptionHeaders } from './encryption.js';
import { writeKms } from './sse-kms.js';

/** S3's limit on the form fields that precede the file. */
const MAX_FORM_FIELDS = 20 * 1024;

/**
 * POST object: a browser form upload. The fields before the file are checked against the form's
 * signed policy, then the file streams into the store, its size held to the policy's
 * content-length-range as it goes (nothing is committed when it falls outside).
 */
export async function postObject(ctx: Context<'PostObject'>): Promise<void> {
  if (!/^multipart\/form-data\s*(;|$)/i.test(header(ctx, 'content-type') ?? '')) {
    throw new S3Error('PreconditionFailed', 'Bucket POST must be of the enclosure-type multipart/form-data');
  }
  const form = await readForm(ctx.req, MAX_FORM_FIELDS);
  try {
    await store(ctx, form);
  } finally {
    form.close();
  }
}

async function store(ctx: Context<'PostObject'>, form: Form): Promise<void> {
  const bucket = bucketOf(ctx);
  const template = form.fields.get('key');
  if (template === undefined) {
    throw new S3Error(
      'InvalidArgument',
      "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
    );
  }
  if (!form.file) throw new S3Error('InvalidArgument', 'POST requires exactly one file upload per request.');
  const key = template.replaceAll('${filename}', form.file.filename);
  if (key === '') throw new S3Error('InvalidArgument', 'User key must have a length greater than 0.');
  if (Buffer.byteLength(key) > 1024) throw new S3Error('KeyTooLongError', 'Your key is too long');
  const fields = new Map(form.fields).set('key', key);
  const grant = await verifyPostPolicy(fields, bucket, {
    credentials: ctx.credentials,
    region: ctx.region,
    now: Date.now(),
  });
  await authorizeAccess(
    ctx.meta,
    grant.identity,
    ctx.req,
    ctx.route.query,
    { action: 's3:PutObject', right: 'write', bucket, key },
    Date.now(),
  );
  const target = await ctx.meta.getBucket(bucket);
  const tagging = fields.get('tagging');
  // The form's x-amz-object-lock-* fields, as a PUT's headers (the policy signed them).
  const lock = lockFrom((name) => fields.get(name), target);
  const sseKms = await writeKms(ctx, (name) => fields.get(name), target, false);
  const checksums: Record<string, string> = {};
  const body = checkedBody(sized(form.file.body, grant.length), namedChecksums(fields), checksums);
  const { etag, manifest } = await ctx.store.put(bucket, key, body, {
    ...headersToStore(fields),
    acl: await newObjectAcl(ctx, bucket, key, grant.identity, fields.get('acl')),
    tags: tagging === undefined ? undefined : await formTags(tagging),
    lock,
    sseKms,
    checksums,
  });
  // As a PUT's: the version written (null in a Suspended bucket), the lifecycle expiry, the encryption.
  respond(ctx, fields, key, etag, {
    ...createdVersionHeaders(target, key, manifest),
    ...(sseKms ? objectEncryptionHeaders(manifest) : {}),
  });
}

/** The file, failing before its end (so before any commit) when its size is outside the range. */
async function* sized(body: AsyncIterable<Buffer>, range: PostGrant['length']): AsyncGenerator<Buffer> {
  const max = Math.min(range?.max ?? MAX_PUT_SIZE, MAX_PUT_SIZE);
  let size = 0;
  for await (const piece of body) {
    size += piece.length;
    if (size > max) throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
    yield piece;
  }
  if (range && size < range.min)
    throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size');
}

/** success_action_redirect (303), else success_action_status: 200, 201 (with a document) or 204. */
function respond(
  ctx: Context<'PostObject'>,
  fields: Map<string, string>,
  key: string,
  etag: string,
  version: Record<string, string>,
): void {
  const bucket = bucketOf(ctx);
  const scheme = (ctx.req.socket as TLSSocket).encrypted ? 'https' : 'http';
  // The object's URL in the addressing style of the request (path-style names the bucket).
  const location = `${scheme}://${header(ctx, 'host') ?? ''}${ctx.route.rawPath.replace(/\/$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`;
  const headers = { etag: `"${etag}"`, location, ...version };
  const target = fields.get('success_action_redirect') ?? fields.get('redirect') ?? '';
  if (URL.canParse(target)) {
    const redirect = new URL(target);
    redirect.searchParams.set('bucket', bucket);
    redirect.searchParams.set('key', key);
    redirect.searchParams.set('etag', `"${etag}"`);
    sendEmpty(ctx, 303, { ...headers, location: redirect.href });
    return;
  }
  const status = fields.get('success_action_status');
  if (status === '201') {
    // Without S3's namespace, as AWS's PostResponse (clients read it by bare element names).
    const body = Buffer.from(
      `${XML_HEADER}<PostResponse>${el('Location', location)}${el('Bucket', bucket)}${el('Key', key)}${el('ETag', `"${etag}"`)}</PostResponse>`,
    );
    ctx.res.writeHead(201, { ...headers, 'content-type': 'application/xml', 'content-length': body.length });
    ctx.res.end(body);
  } else {
    sendEmpty(ctx, status === '200' ? 200 : 204, headers);
  }
}
