import { CodedError } from '../util/coded-error.js';

/** The S3 error code a client sees for a lifecycle configuration refused. */
export type LifecycleErrorCode = 'MalformedXML' | 'InvalidArgument' | 'InvalidRequest' | 'NotImplemented';

export class LifecycleError extends CodedError<LifecycleErrorCode> {}
