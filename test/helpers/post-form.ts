import crypto from 'node:crypto';
import { ROOT, type Creds } from './gateway-harness.js';

/** SigV4 POST fields for a policy, signed here from the spec with node:crypto alone. */
export function signedFields(
  conditions: unknown[],
  o: { creds?: Creds; expiration?: Date; tamper?: boolean } = {},
): Array<[string, string]> {
  const creds = o.creds ?? ROOT;
  const longDate = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const credential = `${creds.accessKeyId}/${longDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const expiration = (o.expiration ?? new Date(Date.now() + 3600_000)).toISOString();
  const fields: Array<[string, string]> = [
    ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
    ['x-amz-credential', credential],
    ['x-amz-date', longDate],
  ];
  const policy = Buffer.from(
    JSON.stringify({
      expiration,
      conditions: [...conditions, ...fields.map(([name, value]) => ({ [name]: value }))],
    }),
  ).toString('base64');
  let key: Buffer = Buffer.from(`AWS4${creds.secretAccessKey}`);
  for (const part of [longDate.slice(0, 8), 'us-east-1', 's3', 'aws4_request'])
    key = crypto.createHmac('sha256', key).update(part).digest();
  let signature = crypto.createHmac('sha256', key).update(policy).digest('hex');
  if (o.tamper) signature = signature.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  return [...fields, ['policy', policy], ['x-amz-signature', signature]];
}

/** A multipart/form-data body: the fields in order, then the file part (when given). */
export function form(
  fields: Array<[string, string]>,
  file?: { name: string; data: Buffer },
): { body: Buffer; type: string } {
  const boundary = `----qstor${crypto.randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = fields.map(([name, value]) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
  );
  if (file) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      file.data,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}
