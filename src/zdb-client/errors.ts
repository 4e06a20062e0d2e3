import { CodedError } from '../util/coded-error.js';
/**
 * Typed errors of the zdb client. Callers branch on `code`, never on message text: the table
 * below is the one place that knows 0-db's exact error strings.
 */
export type ZdbErrorCode =
  /** "-Key not found" (DEL, KEYCUR, HISTORY of a missing key). */
  | 'NOT_FOUND'
  /** The namespace reached its maxsize. */
  | 'NO_SPACE'
  /** The namespace is in worm mode: no overwrite, no delete. */
  | 'WORM'
  /** Opened read-only (public namespace with a password, selected without it) or locked. */
  | 'READ_ONLY'
  /** NSSET freeze 1: neither reads nor writes. */
  | 'FROZEN'
  | 'NS_NOT_FOUND'
  /** NSNEW of a name that already exists. */
  | 'NS_EXISTS'
  /** Not admin, wrong password, private namespace, refused on `default` or a public namespace. */
  | 'PERMISSION'
  /** AUTH on a server started without --admin: every connection already is admin. */
  | 'AUTH_DISABLED'
  /** Key longer than 255 bytes. */
  | 'KEY_TOO_LARGE'
  /** Malformed key for the namespace mode (seq ids are 8 bytes; SET of an unknown seq id). */
  | 'INVALID_KEY'
  /** A request the server refuses as malformed: arguments, property names, sizes. */
  | 'INVALID'
  /** A command this server does not implement. */
  | 'UNSUPPORTED'
  /** Scan or history walked past the end. */
  | 'NO_MORE_DATA'
  /** No reply in time (client side), or WAIT expired (server side). */
  | 'TIMEOUT'
  /** Could not connect, or the connection dropped with the request outstanding. */
  | 'CONNECTION'
  /** The server's reply does not parse or does not have the expected shape. */
  | 'PROTOCOL'
  /** Any other server-side failure (I/O errors, internal errors). */
  | 'SERVER';

export class ZdbError extends CodedError<ZdbErrorCode> {
  /**
   * True when the request may not have reached the backend or its answer was lost, so trying
   * again (on this backend later, or on another) makes sense.
   */
  get retriable(): boolean {
    return this.code === 'CONNECTION' || this.code === 'TIMEOUT';
  }
}

/** Exact error strings sent by 0-db v2.0.x (zdbd/*.c), with the code each one means. */
const SERVER_ERRORS: ReadonlyMap<string, ZdbErrorCode> = new Map<string, ZdbErrorCode>([
  ['Key not found', 'NOT_FOUND'],
  ['No space left on this namespace', 'NO_SPACE'],
  ['Namespace is protected by worm mode', 'WORM'],
  ['Cannot delete a key when namespace is in worm mode', 'WORM'],
  ['Namespace is in read-only mode', 'READ_ONLY'],
  ['Namespace is temporarily locked (read-only)', 'READ_ONLY'],
  ['Namespace is temporarily frozen (read-write disabled)', 'FROZEN'],
  ['Namespace not found', 'NS_NOT_FOUND'],
  ["This namespace doesn't exists", 'NS_NOT_FOUND'],
  ['Your active namespace is not available anymore (probably removed).', 'NS_NOT_FOUND'],
  ['This namespace is not available', 'NS_EXISTS'],
  ['Permission denied', 'PERMISSION'],
  ['Access denied', 'PERMISSION'],
  ['Unauthorized', 'PERMISSION'],
  ['Namespace protected and private', 'PERMISSION'],
  ['Flushing public namespace denied', 'PERMISSION'],
  ['Cannot update default namespace', 'PERMISSION'],
  ['Cannot remove default namespace', 'PERMISSION'],
  ['Authentication disabled', 'AUTH_DISABLED'],
  ['Key too large', 'KEY_TOO_LARGE'],
  ['Invalid key', 'INVALID_KEY'],
  ['Invalid key format', 'INVALID_KEY'],
  ['Invalid key, only update authorized', 'INVALID_KEY'],
  ['Invalid argument, key needed', 'INVALID_KEY'],
  ['Invalid index', 'INVALID_KEY'],
  ['Command not supported', 'UNSUPPORTED'],
  ['Command disabled in release code, not yet available', 'UNSUPPORTED'],
  ["Index running mode doesn't support this feature", 'UNSUPPORTED'],
  ['This server instance is configured to use a single runtime mode', 'UNSUPPORTED'],
  ['No more data', 'NO_MORE_DATA'],
  ['No more history', 'NO_MORE_DATA'],
  ['No keys match', 'NO_MORE_DATA'],
  ['EOF', 'NO_MORE_DATA'],
  ['Timeout', 'TIMEOUT'],
  ['Invalid argument', 'INVALID'],
  ['Invalid arguments', 'INVALID'],
  ['Invalid arguments (index query)', 'INVALID'],
  ['Invalid arguments (invalid key)', 'INVALID'],
  ['Unexpected arguments', 'INVALID'],
  ['Missing arguments', 'INVALID'],
  ['Too many arguments', 'INVALID'],
  ['Argument too long', 'INVALID'],
  ['Argument too large', 'INVALID'],
  ['Payload too big', 'INVALID'],
  ['Namespace too long', 'INVALID'],
  ['Password too long', 'INVALID'],
  ['Invalid hash length', 'INVALID'],
  ['Only SECURE extra method supported', 'INVALID'],
  ['No CHALLENGE requested, secure authentication not available', 'INVALID'],
  ['Invalid property', 'INVALID'],
  ['Invalid property value (expected: user, seq)', 'INVALID'],
  ['Cannot change mode of used namespace', 'INVALID'],
  ["Cannot remove namespace you're currently using.", 'INVALID'],
  ['This name is not allowed', 'INVALID'],
  ['Invalid timeout', 'INVALID'],
  ['Unknown command to watch', 'INVALID'],
  ['This is not a valid command', 'INVALID'],
  ['Invalid Request', 'INVALID'],
  ['Malformed request, array expected', 'INVALID'],
  ['Malformed query string', 'INVALID'],
  // Our zdb's refusals of hostile load (zdb/README.md): a full server or a slow request may
  // succeed on a fresh connection later; a throttled password check is a refusal.
  ['Too many connections', 'CONNECTION'],
  ['Request timeout', 'CONNECTION'],
  ['Request too large', 'INVALID'],
  ['Too many failed authentications, retry later', 'PERMISSION'],
]);

/** The typed error for an error reply ("-<message>") from a zdb server. */
export function serverError(message: string): ZdbError {
  let code = SERVER_ERRORS.get(message);
  // Request-framing errors vary in their tail ("Malformed request, missing CRLF", ...).
  if (code === undefined && message.startsWith('Malformed request')) code = 'INVALID';
  return new ZdbError(code ?? 'SERVER', message);
}
