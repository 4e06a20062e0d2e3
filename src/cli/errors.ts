import { CodedError } from '../util/coded-error.js';

/** Why a `qstor` command stopped: `main.ts` prints the message and exits 1. */
export type CliErrorCode =
  /** Arguments that are not what the command takes (the message gives its usage). */
  | 'USAGE'
  /** An option whose value cannot be used (out of range, a file that is not there). */
  | 'INVALID_OPTION'
  /** A local zdb backend exited or did not answer. */
  | 'BACKEND_START'
  /** A file the command would overwrite. */
  | 'TARGET_EXISTS'
  /** A path that is not a regular file where one is needed (`flist cat`). */
  | 'NOT_A_FILE'
  /** `admin status|repair` on the data directory of a store that is not running (its backends are its children). */
  | 'NOT_RUNNING'
  /** An s3 flist store with no secret, and none in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). */
  | 'MISSING_CREDENTIALS';

export class CliError extends CodedError<CliErrorCode> {}
