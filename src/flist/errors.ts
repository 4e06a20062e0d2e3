import { CodedError } from '../util/coded-error.js';
/** Errors of flists: a code a caller can branch on (the mount maps them to errno). */
export type FlistErrorCode =
  | 'NOT_FOUND' // a block, inode or path that does not exist
  | 'CORRUPT' // a block whose bytes do not hash to its id or key, or will not decrypt
  | 'NOT_ROUTABLE' // no route covers a block id
  | 'READ_ONLY' // a write to a store that only reads (http)
  | 'BAD_URL' // a store URL that cannot be parsed
  | 'BAD_FORMAT' // an .fl file, image or tar that is not what it claims
  | 'STORE' // a store answered with an error or not at all
  | 'MOUNT' // FUSE, overlayfs or namespaces failed
  | 'SETUP'; // qstor's own parts not ready: a worker not built, the hasher not loaded

export class FlistError extends CodedError<FlistErrorCode> {}
