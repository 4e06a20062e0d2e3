import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requestMeta } from '../gateway/request-meta.js';
import { SqliteMetaStore } from '../src/meta/sqlite/sqlite-meta-store.js';

// The engine answers every getBucket with a new object: the same object twice means it was read once.
describe("requestMeta: a request's bucket records", () => {
  let dir: string;
  let meta: SqliteMetaStore;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-request-meta-'));
    meta = new SqliteMetaStore(path.join(dir, 'meta.db'));
    await meta.createBucket('b');
  });
  afterEach(async () => {
    await meta.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads a bucket once across reads, and again after a call that may write', async () => {
    expect(await meta.getBucket('b')).not.toBe(await meta.getBucket('b'));
    const request = requestMeta(meta);
    const first = await request.getBucket('b');
    await request.listBuckets();
    expect(await request.getBucket('b')).toBe(first);

    await request.updateBucketSettings('b', (s) => ({ ...s, versioning: 'Enabled' }));
    const after = await request.getBucket('b');
    expect(after).not.toBe(first);
    expect(after?.settings.versioning).toBe('Enabled');
    // Another request does not share this one's records.
    expect(await requestMeta(meta).getBucket('b')).not.toBe(after);
  });

  it('keeps a missing bucket missing for the request; a new request sees it', async () => {
    const request = requestMeta(meta);
    expect(await request.getBucket('none')).toBeNull();
    await meta.createBucket('none');
    // A null answer is kept for the request (the bucket did not exist when it started)...
    expect(await request.getBucket('none')).toBeNull();
    // ...and a new request sees it.
    expect((await requestMeta(meta).getBucket('none'))?.name).toBe('none');
  });
});
