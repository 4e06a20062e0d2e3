import { useEffect, useState } from 'preact/hooks';
import { api, bucketPath, type BucketRow } from '../api';
import { bytes } from '../format';

function retention(lock: NonNullable<BucketRow['objectLock']>): string {
  const r = lock.defaultRetention;
  if (!r) return 'on, no default retention';
  return `on, default ${r.mode} ${r.days ? `${r.days} days` : `${r.years ?? 0} years`}`;
}

/**
 * The bucket's usage, versioning (with its toggle, for a key with owner rights: the server
 * says no otherwise) and object lock, at the top of its page. `changed` counts the page's own
 * uploads and deletes, so the usage follows them.
 */
export function BucketSettings({ bucket, changed }: { bucket: string; changed: number }) {
  const [row, setRow] = useState<BucketRow | null>(null);
  const [error, setError] = useState('');
  const load = (): void =>
    void api<BucketRow>('GET', bucketPath(bucket)).then(setRow, (e: Error) => setError(e.message));
  useEffect(load, [bucket, changed]);

  const toggle = async (): Promise<void> => {
    if (!row) return;
    const status = row.versioning === 'Enabled' ? 'Suspended' : 'Enabled';
    setError('');
    try {
      await api('PUT', `${bucketPath(bucket)}/versioning`, { status });
      load();
    } catch (e) {
      setError(`Versioning not changed: ${(e as Error).message}`);
    }
  };

  if (!row) return error ? <p class="error">{error}</p> : null;
  const versionsNote =
    row.versions > row.objects ? `; ${row.versions} versions stored, ${bytes(row.versionBytes)}` : '';
  return (
    <div class="bucket-settings" aria-label="Bucket settings">
      <p data-testid="bucket-usage">
        {row.objects} object{row.objects === 1 ? '' : 's'}, {bytes(row.bytes)}
        {versionsNote}. Erasure {row.erasure.dataShards}+{row.erasure.parityShards}.
      </p>
      <p>
        Versioning: <strong data-testid="versioning-status">{row.versioning}</strong>{' '}
        <button
          type="button"
          onClick={toggle}
          disabled={row.objectLock !== null}
          title={row.objectLock ? 'Object lock keeps versioning enabled' : undefined}
        >
          {row.versioning === 'Enabled' ? 'Suspend versioning' : 'Enable versioning'}
        </button>{' '}
        Object lock: <strong data-testid="object-lock">{row.objectLock ? retention(row.objectLock) : 'off'}</strong>
      </p>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </div>
  );
}
