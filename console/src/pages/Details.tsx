import { useState } from 'preact/hooks';
import { api, bucketPath, type ObjectDetails } from '../api';
import { bytes, date } from '../format';
import { CopyButton } from './CopyButton';
import { Versions } from './Versions';

const EXPIRIES: Array<[seconds: number, label: string]> = [
  [3600, '1 hour'],
  [86400, '1 day'],
  [604800, '7 days'],
];

/**
 * One object: what HEAD says of it, its versions, and a share link (a presigned GET URL of the
 * S3 port). `onChanged`: a version was deleted, so the listing may have changed.
 */
export function Details({
  bucket,
  object,
  onClose,
  onChanged,
}: {
  bucket: string;
  object: ObjectDetails;
  onClose: () => void;
  onChanged: () => void;
}) {
  const [expires, setExpires] = useState(3600);
  const [link, setLink] = useState('');
  const [error, setError] = useState('');
  const share = async (): Promise<void> => {
    try {
      setLink(
        (
          await api<{ url: string }>('POST', `${bucketPath(bucket)}/share`, {
            key: object.key,
            expiresSeconds: expires,
          })
        ).url,
      );
      setError('');
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const meta = Object.entries(object.metadata);
  return (
    <aside class="details" aria-label={`Details of ${object.key}`}>
      <h2>{object.key}</h2>
      <dl>
        <dt>Size</dt>
        <dd>
          {bytes(object.size)} ({object.size} bytes)
        </dd>
        <dt>ETag</dt>
        <dd>
          <code>{object.etag}</code>
        </dd>
        <dt>Content type</dt>
        <dd>{object.contentType}</dd>
        <dt>Modified</dt>
        <dd>{date(object.lastModified)}</dd>
        <dt>Metadata</dt>
        <dd>{meta.length === 0 ? 'none' : meta.map(([k, v]) => `${k}: ${v}`).join('; ')}</dd>
      </dl>
      <Versions bucket={bucket} objectKey={object.key} onChanged={onChanged} />
      <div class="inline">
        <label>
          Share link valid for
          <select value={expires} onChange={(e) => setExpires(Number((e.currentTarget as HTMLSelectElement).value))}>
            {EXPIRIES.map(([s, label]) => (
              <option key={s} value={s}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={share}>
          Make share link
        </button>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {link && (
        <p class="inline">
          <label>
            Share link{' '}
            <input
              readOnly
              value={link}
              data-testid="share-link"
              onFocus={(e) => (e.currentTarget as HTMLInputElement).select()}
            />
          </label>
          <CopyButton text={link} label="Copy the share link" />
        </p>
      )}
      <button type="button" onClick={onClose}>
        Close
      </button>
    </aside>
  );
}
