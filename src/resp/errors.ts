/** A stream that cannot be parsed further: the peer gets `message` as an error reply, then the connection closes. */
export class RespProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RespProtocolError';
  }
}
