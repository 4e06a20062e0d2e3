import {
  CreateBucketCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, grantKey, type Creds } from './helpers/gateway-harness.js';
import { startConsole, type ConsoleHarness } from './helpers/console-harness.js';

/** The console's JSON API over a real gateway and store: sessions, CSRF, and S3's rights. */
describe('console API', () => {
  let c: ConsoleHarness;
  let reader: Creds;
  let other: Creds;

  beforeAll(async () => {
    c = await startConsole();
    const s3 = c.g.client();
    for (const Bucket of ['pics', 'secret']) await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutObjectCommand({ Bucket: 'pics', Key: 'a.txt', Body: 'hello' }));
    reader = await grantKey(c.g, 'READER', { pics: { read: true } });
    other = await grantKey(c.g, 'WRITER', { pics: { read: true, write: true } });
  });
  afterAll(() => c?.close());

  interface Session {
    cookie: string;
    csrf: string;
  }
  const call = (
    method: string,
    path: string,
    o: { session?: Session; csrf?: string; origin?: string; body?: unknown; raw?: Buffer } = {},
  ): Promise<Response> => {
    const headers: Record<string, string> = {};
    if (o.session) headers.cookie = o.session.cookie;
    const csrf = o.csrf ?? o.session?.csrf;
    if (csrf !== undefined) headers['x-csrf-token'] = csrf;
    if (o.origin) headers.origin = o.origin;
    return fetch(c.url + path, {
      method,
      headers,
      body: o.raw ? new Uint8Array(o.raw) : o.body === undefined ? undefined : JSON.stringify(o.body),
    });
  };
  const login = async (creds: Creds): Promise<Session> => {
    const res = await call('POST', '/api/session', {
      body: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
    });
    expect(res.status).toBe(200);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const { csrf } = (await res.json()) as { csrf: string };
    return { cookie: cookie.split(';')[0]!, csrf };
  };

  it('answers 401 without a session, and to a wrong secret', async () => {
    const res = await call('GET', '/api/buckets');
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('Unauthenticated');
    expect((await call('GET', '/api/buckets', { session: { cookie: 'qstor_session=forged', csrf: 'x' } })).status).toBe(
      401,
    );
    const wrong = await call('POST', '/api/session', {
      body: { accessKeyId: ROOT.accessKeyId, secretAccessKey: 'not-the-secret' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
  });

  it('refuses a change without the CSRF token, with a wrong one, or from another origin (403)', async () => {
    const s = await login(ROOT);
    const body = { name: 'csrf-made', dataShards: 2, parityShards: 1 };
    for (const o of [{ csrf: '' }, { csrf: 'A'.repeat(s.csrf.length) }]) {
      const res = await call('POST', '/api/buckets', { session: { cookie: s.cookie, csrf: o.csrf }, body });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe('InvalidCsrfToken');
    }
    const cross = await call('POST', '/api/buckets', { session: s, origin: 'http://evil.example', body });
    expect(cross.status).toBe(403);
    expect(((await cross.json()) as { code: string }).code).toBe('BadOrigin');
    expect(await c.g.h.meta.getBucket('csrf-made')).toBeNull();
    const made = await call('POST', '/api/buckets', { session: s, origin: new URL(c.url).origin, body });
    expect(made.status).toBe(201);
    expect((await c.g.h.meta.getBucket('csrf-made'))?.settings.erasure).toEqual({ dataShards: 2, parityShards: 1 });
  });

  it('refuses to delete a bucket that holds objects, naming why', async () => {
    const res = await call('DELETE', '/api/buckets/pics', { session: await login(ROOT) });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'BucketNotEmpty' });
  });

  it('gives a read-only key what S3 gives it: list and read, no delete, no upload, no other bucket', async () => {
    const s = await login(reader);
    const list = (await (await call('GET', '/api/buckets', { session: s })).json()) as {
      buckets: Array<{ name: string; objects: number; bytes: number }>;
    };
    expect(list.buckets).toEqual([expect.objectContaining({ name: 'pics', objects: 1, bytes: 5 })]);
    expect((await call('GET', '/api/buckets/pics/objects', { session: s })).status).toBe(200);
    const del = await call('POST', '/api/buckets/pics/delete', { session: s, body: { keys: ['a.txt'] } });
    expect(del.status).toBe(403);
    expect(await del.json()).toMatchObject({ code: 'AccessDenied' });
    expect(await c.g.h.meta.getObject('pics', 'a.txt')).not.toBeNull();
    expect(
      (await call('PUT', '/api/buckets/pics/upload?key=b.txt', { session: s, raw: Buffer.from('x') })).status,
    ).toBe(403);
    expect((await call('GET', '/api/buckets/secret/objects', { session: s })).status).toBe(403);
    expect((await call('GET', '/api/keys', { session: s })).status).toBe(403);
    expect((await call('POST', '/api/buckets', { session: s, body: { name: 'mine' } })).status).toBe(403);
  });

  it("shows a bucket's usage and settings, and changes versioning with S3's rights and rules", async () => {
    const root = await login(ROOT);
    const s = await login(reader);
    const pics = (await (await call('GET', '/api/buckets/pics', { session: s })).json()) as Record<string, unknown>;
    expect(pics).toMatchObject({ name: 'pics', objects: 1, bytes: 5, versions: 1, versionBytes: 5, versioning: 'Off' });
    expect(pics.objectLock).toBeNull();
    expect((await call('GET', '/api/buckets/secret', { session: s })).status).toBe(403);
    // Versioning needs owner rights, as PutBucketVersioning.
    const refused = await call('PUT', '/api/buckets/pics/versioning', { session: s, body: { status: 'Enabled' } });
    expect(refused.status).toBe(403);
    expect((await c.g.h.meta.getBucket('pics'))?.settings.versioning).toBeUndefined();
    const bad = await call('PUT', '/api/buckets/pics/versioning', { session: root, body: { status: 'Off' } });
    expect(bad.status).toBe(400);
    const enabled = await call('PUT', '/api/buckets/pics/versioning', { session: root, body: { status: 'Enabled' } });
    expect(enabled.status).toBe(200);
    expect((await c.g.h.meta.getBucket('pics'))?.settings.versioning).toBe('Enabled');
    // A second version of a.txt, the same bytes (later tests read them).
    await c.g.client().send(new PutObjectCommand({ Bucket: 'pics', Key: 'a.txt', Body: 'hello' }));
    expect(await (await call('GET', '/api/buckets/pics', { session: root })).json()).toMatchObject({
      objects: 1,
      bytes: 5,
      versions: 2,
      versionBytes: 10,
      versioning: 'Enabled',
    });
    // Object lock, chosen at creation, keeps versioning Enabled: Suspended is refused as S3 refuses it.
    const made = await call('POST', '/api/buckets', { session: root, body: { name: 'locked', objectLock: true } });
    expect(made.status).toBe(201);
    expect(await (await call('GET', '/api/buckets/locked', { session: root })).json()).toMatchObject({
      versioning: 'Enabled',
      objectLock: { defaultRetention: null },
    });
    const suspend = await call('PUT', '/api/buckets/locked/versioning', {
      session: root,
      body: { status: 'Suspended' },
    });
    expect(suspend.status).toBe(409);
    expect(await suspend.json()).toMatchObject({ code: 'InvalidBucketState' });
  });

  it('keeps a multipart upload to its bucket: a key granted on one bucket cannot add parts to an upload in another', async () => {
    const root = await login(ROOT);
    const { uploadId } = (await (
      await call('POST', '/api/buckets/secret/uploads?key=x', { session: root })
    ).json()) as { uploadId: string };
    const s = await login(other);
    const res = await call('PUT', `/api/buckets/pics/uploads/${uploadId}?part=1`, {
      session: s,
      raw: Buffer.alloc(100),
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'NoSuchUpload' });
    expect((await c.g.h.meta.listParts(uploadId)).parts).toEqual([]);
  });

  it("encrypts uploads under the bucket's default KMS key, as PutObject and CreateMultipartUpload do", async () => {
    const s3 = c.g.client();
    await c.g.h.store.kms.create('console-default');
    await s3.send(new CreateBucketCommand({ Bucket: 'kms-default' }));
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: 'kms-default',
        ServerSideEncryptionConfiguration: {
          Rules: [
            { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'console-default' } },
          ],
        },
      }),
    );
    const root = await login(ROOT);
    const put = await call('PUT', '/api/buckets/kms-default/upload?key=one.txt', {
      session: root,
      raw: Buffer.from('one'),
    });
    expect(put.status).toBe(200);
    expect((await c.g.h.meta.getObject('kms-default', 'one.txt'))?.sseKms?.keyId).toBe('console-default');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'kms-default', Key: 'one.txt' }));
    expect([head.ServerSideEncryption, head.SSEKMSKeyId]).toEqual(['aws:kms', 'console-default']);
    const { uploadId } = (await (
      await call('POST', '/api/buckets/kms-default/uploads?key=big', { session: root })
    ).json()) as { uploadId: string };
    expect((await c.g.h.meta.getUpload(uploadId))?.headers.sseKms?.keyId).toBe('console-default');
  });

  it('makes share links that plain HTTP fetches, signed with the logged-in key', async () => {
    const s = await login(reader);
    const res = await call('POST', '/api/buckets/pics/share', {
      session: s,
      body: { key: 'a.txt', expiresSeconds: 600 },
    });
    expect(res.status).toBe(200);
    const { url } = (await res.json()) as { url: string };
    expect(url).toContain(`X-Amz-Credential=${reader.accessKeyId}`);
    const got = await fetch(url);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('hello');
    expect(
      (await call('POST', '/api/buckets/pics/share', { session: s, body: { key: 'a.txt', expiresSeconds: 604_801 } }))
        .status,
    ).toBe(400);
  });

  it('lists one page at a time, folders by /, from a prefix', async () => {
    const s3 = c.g.client();
    for (const Key of ['docs/1.txt', 'docs/2.txt', 'docs/3.txt', 'docs/sub/4.txt', 'top.txt'])
      await s3.send(new PutObjectCommand({ Bucket: 'secret', Key, Body: Key }));
    const s = await login(ROOT);
    type Page = { objects: Array<{ key: string }>; folders: string[]; nextStartAfter: string | null };
    const list = async (query: string): Promise<Page> =>
      (await (await call('GET', `/api/buckets/secret/objects?${query}`, { session: s })).json()) as Page;
    const top = await list('');
    expect(top.folders).toEqual(['docs/']);
    expect(top.objects.map((o) => o.key)).toEqual(['top.txt']);
    const first = await list('prefix=docs/&maxKeys=2');
    expect(first.objects.map((o) => o.key)).toEqual(['docs/1.txt', 'docs/2.txt']);
    const second = await list(`prefix=docs/&maxKeys=2&startAfter=${encodeURIComponent(first.nextStartAfter!)}`);
    expect(second.objects.map((o) => o.key)).toEqual(['docs/3.txt']);
    expect(second.folders).toEqual(['docs/sub/']);
    expect(second.nextStartAfter).toBeNull();
    expect((await list('prefix=docs/2')).objects.map((o) => o.key)).toEqual(['docs/2.txt']);
  });

  it('ends sessions at logout and when their key is deleted', async () => {
    const s = await login(ROOT);
    expect((await call('DELETE', '/api/session', { session: s })).status).toBe(200);
    expect((await call('GET', '/api/buckets', { session: s })).status).toBe(401);
    const root = await login(ROOT);
    const made = (await (await call('POST', '/api/keys', { session: root, body: { name: 'temp' } })).json()) as {
      accessKeyId: string;
      secretAccessKey: string;
    };
    const temp = await login(made);
    expect((await call('GET', '/api/buckets', { session: temp })).status).toBe(200);
    expect((await call('DELETE', `/api/keys/${made.accessKeyId}`, { session: root })).status).toBe(200);
    expect((await call('GET', '/api/buckets', { session: temp })).status).toBe(401);
  });

  it('writes no secret to any log line, nor the session cookie', async () => {
    const s = await login(reader);
    await call('GET', '/api/buckets', { session: s });
    const root = await login(ROOT);
    const made = (await (await call('POST', '/api/keys', { session: root, body: { name: 'logged?' } })).json()) as {
      secretAccessKey: string;
    };
    await call('POST', '/api/session', {
      body: { accessKeyId: ROOT.accessKeyId, secretAccessKey: 'a-wrong-guess-of-the-root-secret' },
    });
    const all = c.logs.join('\n');
    expect(c.logs.filter((l) => l.includes('console request')).length).toBeGreaterThan(5);
    for (const secret of [
      ROOT.secretAccessKey,
      reader.secretAccessKey,
      made.secretAccessKey,
      'a-wrong-guess-of-the-root-secret',
      s.cookie.split('=')[1]!,
      s.csrf,
      root.csrf,
    ]) {
      expect(all).not.toContain(secret);
    }
  });

  it("lists a key's versions in one page, downloads and deletes one, with S3's version actions", async () => {
    const s3 = c.g.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'hist' }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: 'hist', VersioningConfiguration: { Status: 'Enabled' } }));
    const bodies = ['first version', 'second, longer version'];
    const ids: string[] = [];
    for (const Body of bodies)
      ids.push((await s3.send(new PutObjectCommand({ Bucket: 'hist', Key: 'doc', Body }))).VersionId!);
    // A longer key under the same prefix is not one of doc's versions.
    await s3.send(new PutObjectCommand({ Bucket: 'hist', Key: 'doc.bak', Body: 'x' }));
    await c.g.h.meta.allow(reader.accessKeyId, 'hist', { read: true });
    await c.g.h.meta.allow(other.accessKeyId, 'hist', { read: true, write: true });

    const r = await login(reader);
    const listed = await call('GET', '/api/buckets/hist/versions?key=doc', { session: r });
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({
      versions: [
        expect.objectContaining({ versionId: ids[1], isLatest: true, deleteMarker: false, size: bodies[1]!.length }),
        expect.objectContaining({ versionId: ids[0], isLatest: false, deleteMarker: false, size: bodies[0]!.length }),
      ],
      nextAfter: null,
    });
    const old = await call('GET', `/api/buckets/hist/download?key=doc&versionId=${ids[0]}`, { session: r });
    expect(old.status).toBe(200);
    expect(await old.text()).toBe(bodies[0]);
    const gone = await call('GET', '/api/buckets/hist/download?key=doc&versionId=no-such-version', { session: r });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ code: 'NoSuchVersion' });
    // Read only: no version is deleted.
    const refused = await call('DELETE', `/api/buckets/hist/versions?key=doc&versionId=${ids[0]}`, { session: r });
    expect(refused.status).toBe(403);

    // The bucket policy counts as in S3: write may add a delete marker, not remove a version.
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'hist',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Principal: { AWS: [`arn:aws:iam::000000000000:user/${other.accessKeyId}`] },
              Action: 's3:DeleteObjectVersion',
              Resource: 'arn:aws:s3:::hist/*',
            },
          ],
        }),
      }),
    );
    const w = await login(other);
    const denied = await call('DELETE', `/api/buckets/hist/versions?key=doc&versionId=${ids[0]}`, { session: w });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ code: 'AccessDenied' });
    expect((await call('POST', '/api/buckets/hist/delete', { session: w, body: { keys: ['doc'] } })).status).toBe(200);
    expect((await c.g.h.meta.getVersion('hist', 'doc', ids[0]))?.manifest).toBeDefined();

    const root = await login(ROOT);
    const deleted = await call('DELETE', `/api/buckets/hist/versions?key=doc&versionId=${ids[0]}`, { session: root });
    expect(deleted.status).toBe(200);
    expect(await c.g.h.meta.getVersion('hist', 'doc', ids[0])).toBeNull();
    const after = (await (await call('GET', '/api/buckets/hist/versions?key=doc', { session: root })).json()) as {
      versions: Array<{ versionId: string; isLatest: boolean; deleteMarker: boolean }>;
    };
    expect(after.versions.map((v) => [v.versionId === ids[1], v.isLatest, v.deleteMarker])).toEqual([
      [false, true, true],
      [true, false, false],
    ]);
  });

  it('pages through many versions of a key', async () => {
    const s3 = c.g.client();
    for (let i = 0; i < 103; i++) await s3.send(new PutObjectCommand({ Bucket: 'hist', Key: 'many', Body: `v${i}` }));
    const root = await login(ROOT);
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const q: string = after ? `&after=${encodeURIComponent(after)}` : '';
      const page = (await (await call('GET', `/api/buckets/hist/versions?key=many${q}`, { session: root })).json()) as {
        versions: Array<{ versionId: string }>;
        nextAfter: string | null;
      };
      seen.push(...page.versions.map((v) => v.versionId));
      after = page.nextAfter;
    } while (after);
    expect(seen).toHaveLength(103);
    expect(new Set(seen).size).toBe(103);
  });

  // Last: it leaves this address throttled for a minute.
  it('refuses logins from an address after 10 failures in a minute, even with the right secret (429)', async () => {
    // Earlier tests failed two logins already: the 429 comes at the tenth failure at the latest.
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++)
      statuses.push(
        (await call('POST', '/api/session', { body: { accessKeyId: ROOT.accessKeyId, secretAccessKey: `guess-${i}` } }))
          .status,
      );
    expect(statuses.slice(0, 8)).toEqual(Array(8).fill(401));
    expect(statuses.slice(8)).toEqual([429, 429]);
    const right = await call('POST', '/api/session', {
      body: { accessKeyId: ROOT.accessKeyId, secretAccessKey: ROOT.secretAccessKey },
    });
    expect(right.status).toBe(429);
    expect(await right.json()).toMatchObject({ code: 'TooManyAttempts' });
  });
});
