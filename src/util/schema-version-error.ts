import { CodedError } from './coded-error.js';

/** A database written by a newer qstor: its schema is past the migrations this one knows. */
export class SchemaVersionError extends CodedError<'SCHEMA_TOO_NEW'> {
  constructor(what: string, found: number, known: number) {
    super('SCHEMA_TOO_NEW', `${what} schema version ${found} is newer than this qstor (${known})`);
  }
}
