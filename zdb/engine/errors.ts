/**
 * Errors a client sees, with 0-db's exact strings (clients match on them).
 * The engine throws these; the protocol layer turns them into `-<message>` replies.
 */
export class ZdbError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZdbError';
  }
}

export const Errors = {
  keyTooLarge: () => new ZdbError('Key too large'),
  noSpace: () => new ZdbError('No space left on this namespace'),
  worm: () => new ZdbError('Namespace is protected by worm mode'),
  readOnly: () => new ZdbError('Namespace is in read-only mode'),
  onlyUpdate: () => new ZdbError('Invalid key, only update authorized'),
  nsNotFound: () => new ZdbError('Namespace not found'),
  keyNotFound: () => new ZdbError('Key not found'),
  cannotWriteData: () => new ZdbError('Cannot write data right now'),
  cannotWriteIndex: () => new ZdbError('Cannot write index right now'),
  frozen: () => new ZdbError('Namespace is temporarily frozen (read-write disabled)'),
  locked: () => new ZdbError('Namespace is temporarily locked (read-only)'),
  wormDelete: () => new ZdbError('Cannot delete a key when namespace is in worm mode'),
  keyNeeded: () => new ZdbError('Invalid argument, key needed'),
} as const;
