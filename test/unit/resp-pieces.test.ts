/**
 * Large arguments that arrive over several socket chunks are handed out as the pieces they came
 * in (views of the chunks, nothing copied), so a zdb SET writes them with one writev.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { command } from '../../src/resp/encode.js';
import { argumentPieces, RequestParser } from '../../src/resp/request-parser.js';
import { zdbCrc32c, zdbCrc32cOfPieces } from '../../zdb/engine/crc32c.js';

/** The request's bytes in chunks of `size` (the last one shorter). */
function chunked(args: Array<Buffer | string>, size: number): Buffer[] {
  const bytes = Buffer.concat(command(args));
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(Buffer.from(bytes.subarray(at, at + size)));
  return out;
}

function parseAll(chunks: Buffer[]): Buffer[][] {
  const parser = new RequestParser();
  const requests: Buffer[][] = [];
  for (const c of chunks) {
    parser.push(c);
    for (let r = parser.next(); r !== null; r = parser.next()) requests.push(r);
  }
  return requests;
}

describe('request parser: large arguments in pieces', () => {
  const value = randomBytes(256 * 1024);

  it('keeps a large argument spread over chunks as views of those chunks', () => {
    const chunks = chunked(['SET', 'k', value, 'PING'], 64 * 1024);
    const [args] = parseAll(chunks);
    const pieces = argumentPieces(args!, 2);
    expect(pieces.length).toBeGreaterThan(1);
    for (const p of pieces) expect(chunks.some((c) => c.buffer === p.buffer)).toBe(true);
    expect(Buffer.concat(pieces).equals(value)).toBe(true);
    expect(zdbCrc32cOfPieces(pieces)).toBe(zdbCrc32c(value));
    // The arguments around it, and the argument itself when read whole, are intact.
    expect(args!.length).toBe(4);
    expect(args![1]!.toString()).toBe('k');
    expect(args![3]!.toString()).toBe('PING');
    expect(args![2]!.equals(value)).toBe(true);
  });

  it('joins an argument that came in more pieces than one writev takes', () => {
    const [args] = parseAll(chunked(['SET', 'k', value], 100));
    expect(argumentPieces(args!, 2)).toHaveLength(1);
    expect(argumentPieces(args!, 2)[0]!.equals(value)).toBe(true);
  });

  it('copies a small argument that straddles chunks into one buffer', () => {
    const small = randomBytes(1000);
    const [args] = parseAll(chunked(['SET', 'k', small], 300));
    expect(argumentPieces(args!, 2)).toHaveLength(1);
    expect(args![2]!.equals(small)).toBe(true);
  });

  it('gives the pieces of one request only: the next request starts clean', () => {
    const requests = parseAll(chunked(['SET', 'a', value], 64 * 1024).concat(chunked(['SET', 'b', 'x'], 5)));
    expect(requests).toHaveLength(2);
    expect(argumentPieces(requests[1]!, 2)).toEqual([Buffer.from('x')]);
  });
});
