// The zdb client's pure parts: sequential ids, the SECURE hash, error replies, NSINFO parsing.
// (test/zdb-client.test.ts runs the client against throwaway servers and real zdbs.)
import { describe, expect, it } from 'vitest';
import { parseNamespaceInfo, secureHash, seqId, seqNumber, serverError, ZdbError } from '../../src/zdb-client/index.js';

describe('zdb-client: sequential ids', () => {
  it('encodes ids as 8-byte little-endian keys and back', () => {
    expect(seqId(0)).toEqual(Buffer.alloc(8));
    expect(seqId(1)).toEqual(Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]));
    expect(seqId(0x0102n)).toEqual(Buffer.from([2, 1, 0, 0, 0, 0, 0, 0]));
    expect(seqNumber(seqId(123_456_789))).toBe(123_456_789);
    expect(() => seqId(-1)).toThrow(RangeError);
    expect(() => seqNumber(Buffer.alloc(4))).toThrow(RangeError);
    expect(() => seqNumber(Buffer.alloc(8, 0xff))).toThrow(RangeError);
  });
});

describe('zdb-client: secure hash', () => {
  it('is hex sha1 of "<challenge>:<password>"', () => {
    // python3 -c 'import hashlib; print(hashlib.sha1(b"6615c50a04e6df2e:secret").hexdigest())'
    expect(secureHash('6615c50a04e6df2e', 'secret')).toBe('8eb8587c26486b63f50714b2ca161df90968f95e');
  });
});

describe('zdb-client: error replies', () => {
  it.each([
    ['Key not found', 'NOT_FOUND'],
    ['No space left on this namespace', 'NO_SPACE'],
    ['Namespace is protected by worm mode', 'WORM'],
    ['Cannot delete a key when namespace is in worm mode', 'WORM'],
    ['Namespace is in read-only mode', 'READ_ONLY'],
    ['Namespace is temporarily locked (read-only)', 'READ_ONLY'],
    ['Namespace is temporarily frozen (read-write disabled)', 'FROZEN'],
    ['Namespace not found', 'NS_NOT_FOUND'],
    ['This namespace is not available', 'NS_EXISTS'],
    ['Permission denied', 'PERMISSION'],
    ['Access denied', 'PERMISSION'],
    ['Namespace protected and private', 'PERMISSION'],
    ['Key too large', 'KEY_TOO_LARGE'],
    ['Invalid key, only update authorized', 'INVALID_KEY'],
    ['Timeout', 'TIMEOUT'],
    ['Malformed request, array expected', 'INVALID'],
    ['Command not supported', 'UNSUPPORTED'],
    ['Cannot write data right now', 'SERVER'],
  ])('"-%s" is %s', (message, code) => {
    const err = serverError(message);
    expect(err).toBeInstanceOf(ZdbError);
    expect(err.code).toBe(code);
    expect(err.message).toBe(message);
  });
});

describe('zdb-client: NSINFO parsing', () => {
  // As sent by 0-db 2.0.7 to an admin.
  const text = [
    '# namespace',
    'name: p',
    'entries: 1',
    'public: no',
    'worm: no',
    'locked: no',
    'password: yes',
    'data_size_bytes: 1',
    'data_size_mb: 0.00',
    'data_limits_bytes: 10',
    'index_size_bytes: 65',
    'index_size_kb: 0.06',
    'next_internal_id: 0x100000000000000',
    'mode: userkey',
    'stats_index_io_errors: 0',
    'space_available: 9',
    'index_disk_freespace_bytes: 82435219456',
    'data_disk_freespace_bytes: 82435219457',
    'data_path: zp/d/p',
    '',
  ].join('\n');

  it('lifts the fields into numbers and booleans', () => {
    const info = parseNamespaceInfo(text);
    expect(info).toMatchObject({
      name: 'p',
      entries: 1,
      public: false,
      password: true,
      worm: false,
      locked: false,
      mode: 'user',
      dataSizeBytes: 1,
      dataLimitsBytes: 10,
      indexSizeBytes: 65,
      spaceAvailableBytes: 9,
      indexDiskFreespaceBytes: 82435219456,
      dataDiskFreespaceBytes: 82435219457,
    });
    expect(info.fields['data_path']).toBe('zp/d/p');
    expect(parseNamespaceInfo(text.replace('mode: userkey', 'mode: sequential')).mode).toBe('seq');
  });

  it('rejects a reply it cannot read as PROTOCOL', () => {
    expect(() => parseNamespaceInfo(text.replace('entries: 1', 'entries: many'))).toThrow(ZdbError);
    expect(() => parseNamespaceInfo(text.replace('public: no\n', ''))).toThrow(/public/);
  });
});
