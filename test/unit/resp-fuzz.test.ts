/**
 * Property-based fuzzing of the RESP codec (fast unit tier, no process): random and mutated
 * input never throws anything but RespProtocolError, never hangs, never holds more than one
 * request's bound, and whatever is well-formed within the limits comes back intact.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrayHeader, bulk, command, error, integer, simple, type Chunks } from '../../src/resp/encode.js';
import { RespProtocolError } from '../../src/resp/errors.js';
import { ReplyParser, RespErrorReply, type RespValue } from '../../src/resp/reply-parser.js';
import { DEFAULT_REQUEST_LIMITS, RequestParser, type RequestLimits } from '../../src/resp/request-parser.js';

/** Small limits, so that random input reaches them. */
const LIMITS: RequestLimits = { maxArgs: 8, maxArgBytes: 64, maxRequestBytes: 200 };
const RUNS = { numRuns: 200 };

/** Splits `bytes` at the given cut points (taken modulo its length). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => (bytes.length ? c % bytes.length : 0)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of at) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  out.push(bytes.subarray(from));
  return out;
}

/** Feeds chunks, draining after each; what came out, and the protocol error that ended it (if any). */
function parseRequests(chunks: Buffer[], limits = LIMITS): { requests: Buffer[][]; error?: RespProtocolError } {
  const parser = new RequestParser(limits);
  const requests: Buffer[][] = [];
  try {
    for (const chunk of chunks) {
      parser.push(chunk);
      for (let r = parser.next(); r !== null; r = parser.next()) requests.push(r);
      // Waiting for more: at most a header line or the rest of one argument is held.
      expect(parser.buffered).toBeLessThanOrEqual(Math.max(limits.maxArgBytes + 2, 32));
    }
  } catch (e) {
    if (!(e instanceof RespProtocolError)) throw e;
    expect(['MALFORMED', 'TOO_LARGE']).toContain(e.code);
    return { requests, error: e };
  }
  return { requests };
}

const encode = (chunks: Chunks): Buffer => Buffer.concat(chunks);
const arg = fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a));
const request = fc.array(arg, { minLength: 1, maxLength: 10 });
/** Always within LIMITS (at most 4 + 8 x (4 + 16 + 2) = 180 bytes framed): no filtering needed. */
const smallRequest = fc.array(
  fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)),
  { minLength: 1, maxLength: LIMITS.maxArgs },
);
const cuts = fc.array(fc.nat(), { maxLength: 12 });

/** Encoded size of a request, as the parser counts it against maxRequestBytes. */
function framedSize(args: Buffer[]): number {
  return encode(command(args)).length;
}

function withinLimits(args: Buffer[]): boolean {
  return (
    args.length <= LIMITS.maxArgs &&
    args.every((a) => a.length <= LIMITS.maxArgBytes) &&
    framedSize(args) <= LIMITS.maxRequestBytes
  );
}

/** A mutation of a byte string: flip, insert, delete, truncate, duplicate a slice. */
const mutated = (base: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> =>
  fc
    .tuple(
      base,
      fc.array(
        fc.tuple(
          fc.constantFrom('flip', 'insert', 'delete', 'truncate', 'repeat'),
          fc.nat(),
          fc.integer({ min: 0, max: 255 }),
        ),
        { maxLength: 4 },
      ),
    )
    .map(([b, edits]) => {
      let out = Buffer.from(b);
      for (const [kind, pos, byte] of edits) {
        const at = out.length ? pos % out.length : 0;
        if (kind === 'flip' && out.length) out[at] = byte;
        else if (kind === 'insert') out = Buffer.concat([out.subarray(0, at), Buffer.from([byte]), out.subarray(at)]);
        else if (kind === 'delete') out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
        else if (kind === 'truncate') out = out.subarray(0, at);
        else out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + 1 + (byte % 16)), out.subarray(at)]);
      }
      return out;
    });

describe('RESP request parser, fuzzed', () => {
  it('well-formed pipelines within the limits come back intact, however they are split', () => {
    fc.assert(
      fc.property(fc.array(smallRequest, { minLength: 1, maxLength: 6 }), cuts, (requests, at) => {
        const { requests: got, error } = parseRequests(split(encode(requests.flatMap((r) => command(r))), at));
        expect(error).toBeUndefined();
        expect(got).toEqual(requests);
      }),
      RUNS,
    );
  });

  it('a request past a limit is refused with TOO_LARGE, never returned', () => {
    fc.assert(
      fc.property(
        request.filter((r) => !withinLimits(r)),
        cuts,
        (args, at) => {
          const { requests, error } = parseRequests(split(encode(command(args)), at));
          expect(requests).toEqual([]);
          expect(error?.code).toBe('TOO_LARGE');
        },
      ),
      RUNS,
    );
  });

  it('random bytes end in requests, a wait for more, or RespProtocolError: nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), cuts, (bytes, at) => {
        const { requests } = parseRequests(split(Buffer.from(bytes), at));
        for (const r of requests) expect(withinLimits(r)).toBe(true);
      }),
      RUNS,
    );
  });

  it('mutated pipelines end in requests within the limits or RespProtocolError', () => {
    const pipeline = fc
      .array(request, { minLength: 1, maxLength: 4 })
      .map((rs) => encode(rs.flatMap((r) => command(r))));
    fc.assert(
      fc.property(mutated(pipeline), cuts, (bytes, at) => {
        const { requests } = parseRequests(split(bytes, at));
        for (const r of requests) expect(withinLimits(r)).toBe(true);
      }),
      RUNS,
    );
  });

  it('the default limits: 8 MiB + 64 KiB per request, so a second 8 MiB argument is refused at its header', () => {
    const parser = new RequestParser();
    parser.push(Buffer.from(`*1024\r\n$${8 * 1024 * 1024}\r\n`));
    parser.push(Buffer.alloc(8 * 1024 * 1024));
    parser.push(Buffer.from(`\r\n$${8 * 1024 * 1024}\r\n`));
    expect(() => parser.next()).toThrow(expect.objectContaining({ code: 'TOO_LARGE', message: 'Request too large' }));
    expect(DEFAULT_REQUEST_LIMITS.maxRequestBytes).toBe(8 * 1024 * 1024 + 64 * 1024);
  });
});

/** Any RESP2 value a server may send. */
const replyValue: fc.Arbitrary<RespValue> = fc.letrec<{ value: RespValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.stringMatching(/^[a-zA-Z0-9 ]{0,20}$/),
    fc.integer().map((n) => n as RespValue),
    arg,
    fc.constant(null),
    fc.stringMatching(/^[a-zA-Z ]{1,20}$/).map((m) => new RespErrorReply(m)),
    fc.array(tie('value'), { maxLength: 4 }),
  ),
})).value;

function encodeReply(v: RespValue, out: Chunks = []): Chunks {
  if (v === null) bulk(null, out);
  else if (typeof v === 'string') out.push(simple(v));
  else if (typeof v === 'number') out.push(integer(v));
  else if (v instanceof RespErrorReply) out.push(error(v.message));
  else if (Buffer.isBuffer(v)) bulk(v, out);
  else {
    out.push(arrayHeader(v.length));
    for (const item of v) encodeReply(item, out);
  }
  return out;
}

/**
 * push: each chunk stays as it was. feed: each chunk is handed over in one scratch buffer that
 * is overwritten as soon as feed() returns (a socket's onread buffer), so a value that kept a
 * view of it would come out scribbled.
 */
function parseReplies(chunks: Buffer[], mode: 'push' | 'feed' = 'push'): RespValue[] {
  const parser = new ReplyParser(1024);
  const values: RespValue[] = [];
  const scratch = Buffer.alloc(Math.max(0, ...chunks.map((c) => c.length)));
  try {
    for (const chunk of chunks) {
      if (mode === 'feed') {
        chunk.copy(scratch);
        parser.feed(scratch.subarray(0, chunk.length), (v) => values.push(v));
        scratch.fill(0xaa);
        continue;
      }
      parser.push(chunk);
      for (let v = parser.next(); v !== undefined; v = parser.next()) values.push(v);
    }
  } catch (e) {
    if (!(e instanceof RespProtocolError)) throw e;
  }
  return values;
}

describe('RESP reply parser, fuzzed', () => {
  it('replies come back intact, however they are split', () => {
    fc.assert(
      fc.property(fc.array(replyValue, { minLength: 1, maxLength: 5 }), cuts, (values, at) => {
        expect(parseReplies(split(encode(values.flatMap((v) => encodeReply(v))), at))).toEqual(values);
      }),
      RUNS,
    );
  });

  it('replies fed from a reused read buffer come back intact, however they are split', () => {
    fc.assert(
      fc.property(fc.array(replyValue, { minLength: 1, maxLength: 5 }), cuts, (values, at) => {
        expect(parseReplies(split(encode(values.flatMap((v) => encodeReply(v))), at), 'feed')).toEqual(values);
      }),
      RUNS,
    );
  });

  it('a large bulk reply fed in pieces lands in a buffer of its own, intact', () => {
    const value = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));
    const stream = encode([...encodeReply(value), ...encodeReply('OK'), ...encodeReply(value.subarray(0, 10))]);
    const parser = new ReplyParser();
    const values: RespValue[] = [];
    const scratch = Buffer.alloc(65_536);
    for (let at = 0; at < stream.length; at += scratch.length) {
      const n = stream.copy(scratch, 0, at);
      parser.feed(scratch.subarray(0, n), (v) => values.push(v));
      scratch.fill(0x55);
    }
    expect(values).toHaveLength(3);
    expect(value.equals(values[0] as Buffer)).toBe(true);
    expect(values[1]).toBe('OK');
    expect(value.subarray(0, 10).equals(values[2] as Buffer)).toBe(true);
  });

  it('a bulk reply not followed by CRLF is refused', () => {
    const parser = new ReplyParser();
    parser.push(Buffer.from('$3\r\nabcXY+OK\r\n'));
    expect(() => parser.next()).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
  });

  it('random and mutated bytes end in values, a wait for more, or RespProtocolError', () => {
    const replies = fc
      .array(replyValue, { minLength: 1, maxLength: 4 })
      .map((vs) => encode(vs.flatMap((v) => encodeReply(v))));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
          mutated(replies),
        ),
        cuts,
        (bytes, at) => {
          parseReplies(split(bytes, at));
          parseReplies(split(bytes, at), 'feed');
        },
      ),
      RUNS,
    );
  });
});
