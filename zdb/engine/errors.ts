import { CodedError } from '../../src/util/coded-error.js';

/**
 * Why the engine refused or failed. The message is 0-db's exact string (clients match on it);
 * the protocol layer sends it as the `-<message>` reply. INVARIANT is a broken internal
 * invariant caught before anything was written: the server logs it and answers Internal Error.
 */
export type EngineErrorCode =
  | 'KEY_TOO_LARGE'
  | 'INVALID_KEY'
  | 'NOT_FOUND'
  | 'NO_MORE_DATA'
  | 'INVALID_CURSOR'
  | 'NO_SPACE'
  | 'WORM'
  | 'READ_ONLY'
  | 'FROZEN'
  | 'NS_NOT_FOUND'
  | 'NS_EXISTS'
  | 'INVALID_NAME'
  | 'MODE_MISMATCH'
  | 'IO'
  | 'INVARIANT';

export class EngineError extends CodedError<EngineErrorCode> {}

export const Errors = {
  keyTooLarge: () => new EngineError('KEY_TOO_LARGE', 'Key too large'),
  noSpace: () => new EngineError('NO_SPACE', 'No space left on this namespace'),
  worm: () => new EngineError('WORM', 'Namespace is protected by worm mode'),
  onlyUpdate: () => new EngineError('INVALID_KEY', 'Invalid key, only update authorized'),
  nsNotFound: () => new EngineError('NS_NOT_FOUND', 'Namespace not found'),
  nsExists: () => new EngineError('NS_EXISTS', 'This namespace is not available'),
  invalidName: () => new EngineError('INVALID_NAME', 'Invalid namespace name'),
  keyNotFound: () => new EngineError('NOT_FOUND', 'Key not found'),
  noMoreData: () => new EngineError('NO_MORE_DATA', 'No more data'),
  noMoreHistory: () => new EngineError('NO_MORE_DATA', 'No more history'),
  badScanCursor: () => new EngineError('INVALID_CURSOR', 'Invalid key format'),
  badHistoryCursor: (detail = '') => new EngineError('INVALID_CURSOR', `Invalid arguments${detail}`),
  unreadable: () => new EngineError('IO', 'Internal Error'),
  cannotWriteData: (cause?: unknown) => new EngineError('IO', 'Cannot write data right now', { cause }),
  cannotWriteIndex: (cause?: unknown) => new EngineError('IO', 'Cannot write index right now', { cause }),
  frozen: () => new EngineError('FROZEN', 'Namespace is temporarily frozen (read-write disabled)'),
  locked: () => new EngineError('READ_ONLY', 'Namespace is temporarily locked (read-only)'),
  wormDelete: () => new EngineError('WORM', 'Cannot delete a key when namespace is in worm mode'),
  keyNeeded: () => new EngineError('INVALID_KEY', 'Invalid argument, key needed'),
} as const;

/**
 * Checks an invariant whose violation would write bytes to the wrong place (an offset past a
 * file's end, a file id going backwards): throws before any write, never corrupts.
 */
export function invariant(condition: boolean, what: () => string): asserts condition {
  if (!condition) throw new EngineError('INVARIANT', `engine invariant broken: ${what()}`);
}
