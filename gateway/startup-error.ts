import { CodedError } from '../src/util/coded-error.js';

/** Why the gateway daemon cannot start: `main.ts` prints the message and exits 1. */
export class StartupError extends CodedError<'INVALID_OPTION' | 'ROOT_CREDENTIALS'> {}
