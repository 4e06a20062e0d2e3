/**
 * RequestParser.missingBytes: how many bytes the argument being read still lacks. zdb skips its
 * (async) request loop on every socket read that cannot complete a request, so the count must
 * never say "more to come" when next() could already return one.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { command } from '../../src/resp/encode.js';
import { RequestParser } from '../../src/resp/request-parser.js';

describe('RequestParser.missingBytes', () => {
  it('counts down over a large value arriving in pieces, and is 0 exactly when next() has the request', () => {
    const value = randomBytes(300_000);
    const bytes = Buffer.concat([...command(['SET', 'key', value]), ...command(['GET', 'key'])]);
    const parser = new RequestParser();
    const got: Buffer[][] = [];
    for (let at = 0; at < bytes.length; at += 65_536) {
      parser.push(Buffer.from(bytes.subarray(at, at + 65_536)));
      const missing = parser.missingBytes;
      const request = parser.next();
      // next() may start reading the value's header: missingBytes is then asked again.
      if (missing > 0) expect(request).toBeNull();
      if (request) got.push(request);
      for (let more = parser.next(); more; more = parser.next()) got.push(more);
      if (at + 65_536 < bytes.length - 20) expect(parser.missingBytes).toBeGreaterThan(0);
    }
    expect(got.map((r) => r[0]!.toString())).toEqual(['SET', 'GET']);
    expect(got[0]![2]!.equals(value)).toBe(true);
    expect(parser.missingBytes).toBe(0);
  });

  it('is 0 between requests and while a header line is incomplete', () => {
    const parser = new RequestParser();
    expect(parser.missingBytes).toBe(0);
    parser.push(Buffer.from('*2\r\n$3\r\nGET\r\n$1'));
    expect(parser.next()).toBeNull();
    expect(parser.missingBytes).toBe(0);
    parser.push(Buffer.from('0\r\n0123'));
    expect(parser.next()).toBeNull();
    expect(parser.missingBytes).toBe(8);
    parser.push(Buffer.from('456789\r\n'));
    expect(parser.missingBytes).toBe(0);
    expect(parser.next()!.map(String)).toEqual(['GET', '0123456789']);
  });
});
