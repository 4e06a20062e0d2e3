/**
 * What a header value the gateway stores or answers with must be: checked once here for the
 * stored headers (ops/object-headers.ts) and the response-* overrides (router/query.ts).
 */
import { S3Error } from './errors.js';

/** What HTTP allows in a field name (RFC 9110 token); Node refuses to send anything else. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;
/** What Node sends as a header value: no control characters but tab, nothing past Latin-1. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Refuses a header the object would keep (or a GET would answer with) that cannot be sent back
 * as one: CR/LF (`text/plain\r\nX-Injected: yes`), other control characters, characters past
 * Latin-1, or a name that is not a token. Stored, such a value failed every later GET and HEAD.
 */
export function checkHeader(name: string, value: string): void {
  if (!TOKEN.test(name))
    throw new S3Error(
      'InvalidArgument',
      'Header name is not a valid HTTP token.',
      undefined,
      {},
      { ArgumentName: name },
    );
  if (!FIELD_VALUE.test(value)) {
    throw new S3Error(
      'InvalidArgument',
      'Header value contains characters that cannot be sent in an HTTP header.',
      undefined,
      {},
      { ArgumentName: name },
    );
  }
}
