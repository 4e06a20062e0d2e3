import { CodedError } from '../../src/util/coded-error.js';

/**
 * A request the protocol layer refuses before or around the engine (arguments, permissions,
 * passwords). The message is 0-db's exact reply text; the code says what kind of refusal it is.
 */
export type CommandErrorCode =
  | 'INVALID'
  | 'INVALID_KEY'
  | 'NOT_FOUND'
  | 'PERMISSION'
  | 'READ_ONLY'
  | 'NS_NOT_FOUND'
  | 'NS_EXISTS'
  | 'AUTH_DISABLED'
  /** Too many failed password attempts from one source: refused without checking. */
  | 'THROTTLED'
  | 'UNSUPPORTED'
  | 'SERVER';

export class CommandError extends CodedError<CommandErrorCode> {}

export const invalid = (message: string): CommandError => new CommandError('INVALID', message);
export const accessDenied = (): CommandError => new CommandError('PERMISSION', 'Access denied');
