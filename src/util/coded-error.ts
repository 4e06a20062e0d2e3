/**
 * An error with the code a caller branches on (and, at the edge, the client sees): each
 * module names its own codes as a union and extends this. `name` is the subclass's name.
 */
export class CodedError<Code extends string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
