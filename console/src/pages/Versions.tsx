import { useEffect, useState } from 'preact/hooks';
import { api, bucketPath, type VersionPage, type VersionRow } from '../api';
import { bytes, date } from '../format';
import { TableHead } from './TableHead';

/**
 * A key's versions, newest first, once the bucket has had versioning (a bucket that never had
 * it keeps one `null` version: nothing is shown). Each object version downloads; each version
 * or delete marker is deleted for good by its id, which S3 allows with s3:DeleteObjectVersion.
 */
export function Versions({
  bucket,
  objectKey,
  onChanged,
}: {
  bucket: string;
  objectKey: string;
  onChanged: () => void;
}) {
  const [versions, setVersions] = useState<VersionRow[] | null>(null);
  const [nextAfter, setNextAfter] = useState<string | null>(null);
  const [error, setError] = useState('');
  const base = `${bucketPath(bucket)}/versions?key=${encodeURIComponent(objectKey)}`;

  const load = async (after: string | null): Promise<void> => {
    try {
      const page = await api<VersionPage>('GET', after ? `${base}&after=${encodeURIComponent(after)}` : base);
      setVersions((before) => (after && before ? [...before, ...page.versions] : page.versions));
      setNextAfter(page.nextAfter);
      setError('');
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => {
    void load(null);
  }, [bucket, objectKey]);

  const remove = async (v: VersionRow): Promise<void> => {
    if (!confirm(`Delete version ${v.versionId} of ${objectKey} for good?`)) return;
    try {
      await api('DELETE', `${base}&versionId=${encodeURIComponent(v.versionId)}`);
      await load(null);
      onChanged();
    } catch (e) {
      setError(`Delete refused: ${(e as Error).message}`);
    }
  };

  const alert = error ? (
    <p role="alert" class="error">
      {error}
    </p>
  ) : null;
  const neverVersioned = versions !== null && versions.length <= 1 && versions.every((v) => v.versionId === 'null');
  if (!versions || neverVersioned) return alert;
  return (
    <section aria-label={`Versions of ${objectKey}`}>
      <h3>Versions</h3>
      {alert}
      <div class="scroll">
        <table>
          <TableHead columns={['Version id', 'Modified', 'Size', { hidden: 'Actions' }]} />
          <tbody>
            {versions.map((v) => (
              <tr key={v.versionId} data-version={v.versionId}>
                <td>
                  <code>{v.versionId}</code>
                  {v.isLatest && <span class="tag">latest</span>}
                  {v.deleteMarker && <span class="tag">delete marker</span>}
                </td>
                <td>{date(v.lastModified)}</td>
                <td>{v.deleteMarker ? '-' : bytes(v.size)}</td>
                <td class="actions">
                  {!v.deleteMarker && (
                    <a
                      href={`${bucketPath(bucket)}/download?key=${encodeURIComponent(objectKey)}&versionId=${encodeURIComponent(v.versionId)}`}
                      download
                      aria-label={`Download version ${v.versionId}`}
                    >
                      Download
                    </a>
                  )}
                  <button
                    type="button"
                    class="danger"
                    onClick={() => remove(v)}
                    aria-label={`Delete version ${v.versionId}`}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {nextAfter && (
        <button type="button" onClick={() => load(nextAfter)}>
          More versions
        </button>
      )}
    </section>
  );
}
