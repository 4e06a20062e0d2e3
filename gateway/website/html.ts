import { STATUS_CODES } from 'node:http';
import type { S3Error } from '../errors.js';

/** What an error page names besides the error: the bucket or key concerned. */
export interface ErrorSubject {
  bucket?: string;
  key?: string;
  requestId: string;
}

/**
 * The HTML page a website endpoint answers an error with, as AWS's: the status as title, the
 * code, the message, the key or bucket and the request id; and when the custom error document
 * could not be served either, why.
 */
export function errorPage(error: S3Error, subject: ErrorSubject, documentError?: S3Error): string {
  const title = `${error.status} ${STATUS_CODES[error.status] ?? 'Error'}`;
  let body = `<h1>${title}</h1>\n${errorList(error, subject)}`;
  if (documentError)
    body += `<h3>An Error Occurred While Attempting to Retrieve a Custom Error Document</h3>\n${errorList(documentError, { requestId: subject.requestId })}`;
  return `<html>\n<head><title>${title}</title></head>\n<body>\n${body}<hr/>\n</body>\n</html>\n`;
}

function errorList(error: S3Error, subject: ErrorSubject): string {
  const items = [`Code: ${error.code}`, `Message: ${error.message}`];
  if (subject.bucket !== undefined) items.push(`BucketName: ${subject.bucket}`);
  if (subject.key !== undefined) items.push(`Key: ${subject.key}`);
  items.push(`RequestId: ${subject.requestId}`);
  return `<ul>\n${items.map((item) => `<li>${escapeHtml(item)}</li>\n`).join('')}</ul>\n`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
