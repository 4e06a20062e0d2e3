import { CodedError } from '../util/coded-error.js';

/**
 * A stream that cannot be parsed further: the peer gets `message` as an error reply, then the
 * connection closes. MALFORMED: not RESP (or not what this side accepts); TOO_LARGE: past a
 * declared bound (arguments, bytes of one request, a reply line).
 */
export class RespProtocolError extends CodedError<'MALFORMED' | 'TOO_LARGE'> {}
