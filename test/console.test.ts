import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type ConsoleHarness } from './helpers/console-harness.js';
import { ROOT, type Creds } from './helpers/gateway-harness.js';

/** Debian's Chromium (scripts/install-test-deps.mjs installs it when missing and we are root). */
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium)
  process.stderr.write(
    `test/console.test.ts: skipped, no ${CHROMIUM} (apt-get install -y chromium, or npm test as root)\n`,
  );
/** QSTOR_SCREENSHOTS=docs/console writes the README's screenshots there. */
const SHOTS = process.env.QSTOR_SCREENSHOTS;

const sha256 = (b: Buffer | Uint8Array): string => crypto.createHash('sha256').update(b).digest('hex');

/** The console in a real browser over a real gateway and store, as a user clicks through it. */
describe.skipIf(!hasChromium)('web console in Chromium', () => {
  let c: ConsoleHarness;
  let browser: Browser;
  let page: Page;
  const big = crypto.randomBytes(20 * 1024 * 1024);
  let reader: Creds;

  beforeAll(async () => {
    c = await startConsole();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await (
      await browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 800 } })
    ).newPage();
    page.on('dialog', (d) => void d.accept());
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await c?.close();
  });

  const shot = async (name: string): Promise<void> => {
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  };
  /** A link of the main menu (a bucket's page has a Buckets link in its breadcrumb too). */
  const menu = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });
  const login = async (creds: Creds): Promise<void> => {
    await page.goto(c.url + '/');
    await page.getByLabel('Access key id').fill(creds.accessKeyId);
    await page.getByLabel('Secret access key').fill(creds.secretAccessKey);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('button', { name: 'Log out' }).waitFor();
  };

  it('logs in as root and creates a bucket with its erasure geometry', async () => {
    await page.goto(c.url + '/');
    await shot('login');
    await login(ROOT);
    expect(page.url()).not.toContain(ROOT.secretAccessKey);
    await page.getByLabel('Name').fill('photos');
    await page.getByLabel('Data shards (k)').fill('3');
    await page.getByLabel('Parity shards (m)').fill('2');
    await page.getByRole('button', { name: 'Create bucket' }).click();
    await page.getByRole('link', { name: 'photos' }).waitFor();
    expect((await c.g.h.meta.getBucket('photos'))?.settings.erasure).toEqual({ dataShards: 3, parityShards: 2 });
  });

  it('uploads a 20 MiB file in parts with a progress bar that moves, then lists it', async () => {
    await page.getByRole('link', { name: 'photos' }).click();
    await page.getByRole('heading', { name: 'photos' }).waitFor();
    // A path, not a buffer: the browser reads the file itself (a buffer crosses the protocol as base64).
    const file = path.join(c.g.h.dir, 'big.bin');
    fs.writeFileSync(file, big);
    await page.getByTestId('file-input').setInputFiles(file);
    const seen: number[] = [];
    const row = page.locator('tr[data-key="big.bin"]');
    const bar = page.getByTestId('overall-progress');
    while ((await row.count()) === 0) {
      if ((await bar.count()) > 0) seen.push(await bar.evaluate((el: HTMLProgressElement) => el.value / el.max));
      await new Promise((r) => setTimeout(r, 20));
    }
    const between = seen.filter((v) => v > 0 && v < 1);
    process.stdout.write(`progress seen: ${seen.map((v) => v.toFixed(2)).join(' ')}\n`);
    expect(new Set(between.map((v) => v.toFixed(2))).size).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual([...seen].sort((a, b) => a - b)); // never goes back
    expect(await bar.evaluate((el: HTMLProgressElement) => el.value / el.max)).toBe(1);
    const stored = await c.g.h.meta.getObject('photos', 'big.bin');
    expect(stored?.size).toBe(big.length);
    expect(stored?.etag).toMatch(/-4$/); // four parts of 5 MiB
    await shot('objects');
  });

  it('cancels an upload in parts: nothing stored, no upload left open', async () => {
    const file = path.join(c.g.h.dir, 'cancelled.bin');
    fs.writeFileSync(file, crypto.randomBytes(40 * 1024 * 1024));
    await page.getByTestId('file-input').setInputFiles(file);
    const bar = page.getByLabel('Upload of cancelled.bin');
    await page.waitForFunction(() => {
      const el = document.querySelector<HTMLProgressElement>('progress[aria-label="Upload of cancelled.bin"]');
      return el !== null && el.value > 0;
    });
    await page.getByRole('button', { name: 'Cancel the upload of cancelled.bin' }).click();
    await page.locator('li[data-state="cancelled"]', { hasText: 'cancelled.bin' }).waitFor();
    expect(await bar.evaluate((el: HTMLProgressElement) => el.value < el.max)).toBe(true);
    await expect.poll(async () => (await c.g.h.meta.listUploads('photos')).uploads.length).toBe(0);
    expect(await c.g.h.meta.getObject('photos', 'cancelled.bin')).toBeNull();
    await page.getByRole('button', { name: 'Clear finished' }).click();
  });

  it('downloads the file with the same SHA-256', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download big.bin' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('big.bin');
    expect(sha256(fs.readFileSync(await download.path()))).toBe(sha256(big));
  });

  it('makes a share link that plain HTTP can fetch', async () => {
    await page.getByRole('button', { name: 'big.bin' }).click();
    const details = page.getByRole('complementary', { name: 'Details of big.bin' });
    await details.getByText('20971520 bytes').waitFor();
    await details.getByLabel('Share link valid for').selectOption('86400');
    await details.getByRole('button', { name: 'Make share link' }).click();
    const url = await details.getByTestId('share-link').inputValue();
    expect(url).toContain('X-Amz-Expires=86400');
    expect(url.startsWith(c.g.endpoint)).toBe(true);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(big));
    await shot('object-details');
  });

  it("shows the bucket's usage from the metadata, toggles versioning, and shows object lock", async () => {
    await menu('Buckets').click();
    const photos = page.locator('tr', { has: page.getByRole('link', { name: 'photos' }) });
    await expect(photos.getByTestId('bucket-objects').innerText()).resolves.toBe('1');
    await expect(photos.getByTestId('bucket-bytes').innerText()).resolves.toBe('20.0 MiB');
    await expect(photos.getByTestId('bucket-versioning').innerText()).resolves.toBe('Off');
    await page.getByRole('link', { name: 'photos' }).click();
    await expect(page.getByTestId('bucket-usage').innerText()).resolves.toBe('1 object, 20.0 MiB. Erasure 3+2.');
    await expect(page.getByTestId('versioning-status').innerText()).resolves.toBe('Off');
    await page.getByRole('button', { name: 'Enable versioning' }).click();
    await page.getByTestId('versioning-status').getByText('Enabled').waitFor();
    expect((await c.g.h.meta.getBucket('photos'))?.settings.versioning).toBe('Enabled');
    await page.getByRole('button', { name: 'Suspend versioning' }).click();
    await page.getByTestId('versioning-status').getByText('Suspended').waitFor();
    expect((await c.g.h.meta.getBucket('photos'))?.settings.versioning).toBe('Suspended');
    await expect(page.getByTestId('object-lock').innerText()).resolves.toBe('off');

    // Object lock is chosen at creation, and keeps versioning on: the toggle is disabled.
    await menu('Buckets').click();
    await page.getByLabel('Name').fill('vault');
    await page.getByLabel('Object lock').check();
    await page.getByRole('button', { name: 'Create bucket' }).click();
    const vault = page.locator('tr', { has: page.getByRole('link', { name: 'vault' }) });
    await vault.getByTestId('bucket-versioning').getByText('Enabled, object lock').waitFor();
    expect((await c.g.h.meta.getBucket('vault'))?.settings).toMatchObject({ versioning: 'Enabled', objectLock: {} });
    await page.getByRole('link', { name: 'vault' }).click();
    await expect(page.getByTestId('object-lock').innerText()).resolves.toBe('on, no default retention');
    expect(await page.getByRole('button', { name: 'Suspend versioning' }).isDisabled()).toBe(true);
    await shot('bucket');
  });

  it("lists an object's versions in its details, downloads the old one and deletes it", async () => {
    await menu('Buckets').click();
    await page.getByLabel('Name').fill('history');
    await page.getByLabel('Versioning').check();
    await page.getByRole('button', { name: 'Create bucket' }).click();
    await page.getByRole('link', { name: 'history' }).waitFor();
    expect((await c.g.h.meta.getBucket('history'))?.settings.versioning).toBe('Enabled');
    const s3 = c.g.client();
    const old = crypto.randomBytes(300 * 1024);
    const oldId = (await s3.send(new PutObjectCommand({ Bucket: 'history', Key: 'notes.txt', Body: old }))).VersionId!;
    const newId = (await s3.send(new PutObjectCommand({ Bucket: 'history', Key: 'notes.txt', Body: 'second' })))
      .VersionId!;
    await page.getByRole('link', { name: 'history' }).click();
    await page.getByRole('button', { name: 'notes.txt' }).click();
    const versions = page.getByRole('region', { name: 'Versions of notes.txt' });
    const rows = versions.locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-version')))).toEqual([newId, oldId]);
    await expect(rows.nth(0).innerText()).resolves.toContain('latest');
    await expect(rows.nth(1).innerText()).resolves.toContain('300.0 KiB');
    await shot('object-versions');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      versions.getByRole('link', { name: `Download version ${oldId}` }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('notes.txt');
    expect(sha256(fs.readFileSync(await download.path()))).toBe(sha256(old));
    await versions.getByRole('button', { name: `Delete version ${oldId}` }).click();
    await versions.locator(`tr[data-version="${oldId}"]`).waitFor({ state: 'detached' });
    expect(await c.g.h.meta.getVersion('history', 'notes.txt', oldId)).toBeNull();
    expect((await c.g.h.meta.getObject('history', 'notes.txt'))?.versionId).toBe(newId);
    // One version left of a versioned bucket: still listed, with its id.
    await versions.locator(`tr[data-version="${newId}"]`).waitFor();
  });

  it('creates a key (secret shown once), grants it read on the bucket, and deletes another key', async () => {
    await page.getByRole('link', { name: 'Access' }).click();
    await page.getByLabel('Name').fill('reader');
    await page.getByRole('button', { name: 'Create key' }).click();
    reader = {
      accessKeyId: await page.getByTestId('new-key-id').innerText(),
      secretAccessKey: await page.getByTestId('new-key-secret').innerText(),
    };
    expect(reader.accessKeyId).toMatch(/^QK/);
    await page.locator(`tr[data-key="${reader.accessKeyId}"]`).waitFor();
    const grant = page.getByRole('form', { name: "Set a key's rights on a bucket" });
    await grant.getByLabel('Key').selectOption(reader.accessKeyId);
    await grant.getByLabel('Bucket').selectOption('photos');
    await grant.getByRole('checkbox', { name: 'read', exact: true }).check();
    await grant.getByRole('button', { name: 'Set rights' }).click();
    await page.locator(`tr[data-key="${reader.accessKeyId}"]`, { hasText: 'photos: read' }).waitFor();
    expect(await c.g.h.meta.check(reader.accessKeyId, 'photos')).toEqual({ read: true, write: false, owner: false });
    await page.getByRole('button', { name: 'Done' }).click();

    await page.getByLabel('Name').fill('short-lived');
    await page.getByRole('button', { name: 'Create key' }).click();
    const temp = await page.getByTestId('new-key-id').innerText();
    await page.getByRole('button', { name: 'Done' }).click();
    await shot('access');
    await page.getByRole('button', { name: `Delete key ${temp}` }).click();
    await page.locator(`tr[data-key="${temp}"]`).waitFor({ state: 'detached' });
    expect(await c.g.h.meta.getAccessKey(temp)).toBeNull();
  });

  it('logs in as the read-only key, which sees the bucket and is refused a delete', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await login(reader);
    expect(await page.getByRole('link', { name: 'Access' }).count()).toBe(0);
    await page.getByRole('link', { name: 'photos' }).click();
    await page.getByLabel('Select big.bin').check();
    await page.getByRole('button', { name: /Delete selected/ }).click();
    await expect(page.getByRole('alert').innerText()).resolves.toContain('Access Denied');
    expect(await c.g.h.meta.getObject('photos', 'big.bin')).not.toBeNull();
  });

  it('shows a killed backend down on the cluster page, and at phone width', async () => {
    await page.getByRole('link', { name: 'Cluster' }).click();
    await page.locator('tr[data-backend="b0"] .state.up').waitFor();
    await c.g.h.zdbs[0]!.stop();
    await page.locator('tr[data-backend="b0"] .state.down').waitFor({ timeout: 20_000 });
    await expect(page.getByTestId('cluster-summary').innerText()).resolves.toContain('5 of 6 backends up');
    // A write with a backend down is degraded (4+2, 5 up): its chunks wait in the repair queue.
    const s3 = c.g.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'logs' }));
    await s3.send(
      new PutObjectCommand({ Bucket: 'logs', Key: 'two-chunks', Body: crypto.randomBytes(2 * 1024 * 1024) }),
    );
    expect(await c.g.h.meta.countRepairs()).toBe(2);
    await expect
      .poll(() => page.getByTestId('cluster-queues').innerText(), { timeout: 10_000 })
      .toContain('Repair queue: 2 chunks below full redundancy');
    // The S3 counters of /metrics, charted: the share link's GET at least.
    await page.getByRole('img', { name: /^Requests\/s, last two minutes; now \d/ }).waitFor();
    expect(
      Number(/Since start: (\d+) requests/.exec(await page.getByText(/Since start:/).innerText())![1]),
    ).toBeGreaterThanOrEqual(1);
    await shot('cluster');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: 'Buckets' }).click();
    await page.getByRole('link', { name: 'photos' }).click();
    await page.locator('tr[data-key="big.bin"]').waitFor();
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('phone');
  });
});
