import { CodedError } from '../util/coded-error.js';

/** The S3 error code a client sees: KMS.NotFoundException is AWS's for an unknown key. */
export type KmsErrorCode = 'KMS.NotFoundException' | 'InvalidArgument';

export class KmsError extends CodedError<KmsErrorCode> {}
