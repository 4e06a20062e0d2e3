// `qstor start --website-port`: a bucket's static site served to a browser-like client (Node's
// fetch, no credentials), its Host naming the bucket, over a real store started by the CLI.
import { CreateBucketCommand, PutBucketWebsiteCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startQstor, stopAll } from './helpers/qstor-process.js';
import { portBlock } from './helpers/port-block.js';

const port = await portBlock();

describe('qstor start --website-port', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-website-'));
  afterAll(async () => {
    await stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves a public bucket as a site on its own port, GET and HEAD only', async () => {
    const s3Port = port + 10;
    const sitePort = port + 12;
    const { output } = await startQstor([
      'start',
      '--data',
      dir,
      '--backend-port',
      String(port),
      '--port',
      String(s3Port),
      '--website-port',
      String(sitePort),
    ]);
    expect(output).toContain(`Websites at http://127.0.0.1:${sitePort}/`);
    const { accessKey, secretKey } = JSON.parse(fs.readFileSync(path.join(dir, 'credentials.json'), 'utf8')) as {
      accessKey: string;
      secretKey: string;
    };
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${s3Port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
    });
    try {
      // The Host a browser sends for http://localhost:PORT/ is the bucket's whole name.
      const Bucket = 'localhost';
      const page = '<!doctype html><title>hello</title><p>from qstor</p>';
      await s3.send(new CreateBucketCommand({ Bucket }));
      await s3.send(
        new PutObjectCommand({ Bucket, Key: 'index.html', Body: page, ContentType: 'text/html', ACL: 'public-read' }),
      );
      const site = `http://localhost:${sitePort}/`;
      const before = await fetch(site);
      expect([before.status, before.headers.get('content-type')]).toEqual([404, 'text/html; charset=utf-8']);
      expect(await before.text()).toContain('NoSuchWebsiteConfiguration');
      await s3.send(
        new PutBucketWebsiteCommand({ Bucket, WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } }),
      );
      const home = await fetch(site);
      expect([home.status, home.headers.get('content-type'), await home.text()]).toEqual([200, 'text/html', page]);
      const put = await fetch(`${site}index.html`, { method: 'PUT', body: 'defaced' });
      expect(put.status).toBe(405);
      expect(await (await fetch(site)).text()).toBe(page);
    } finally {
      s3.destroy();
    }
  }, 120_000);
});
