import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, bucketPath, type ObjectDetails, type ObjectPage, type ObjectRow } from '../api';
import { bytes, date } from '../format';
import { UploadQueue, type Upload } from '../upload';
import { Alert } from './Alert';
import { BucketSettings } from './BucketSettings';
import { Details } from './Details';
import { filesOfDrop, type PickedFile } from './drop';
import { TableHead } from './TableHead';

const PAGE = 100;

function go(bucket: string, prefix: string): void {
  location.hash = `#/buckets/${encodeURIComponent(bucket)}${prefix ? `?prefix=${encodeURIComponent(prefix)}` : ''}`;
}

export function Objects({ bucket, prefix }: { bucket: string; prefix: string }) {
  const [search, setSearch] = useState('');
  const [page, setPage] = useState<ObjectPage | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [details, setDetails] = useState<ObjectDetails | null>(null);
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [dragging, setDragging] = useState(false);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  /** Bumped by each upload finished and delete made here: the usage shown is loaded again. */
  const [changed, setChanged] = useState(0);
  const listPrefix = prefix + search;

  /** The first page, or the next one appended. */
  const load = async (more: boolean): Promise<void> => {
    const after = more && page?.nextStartAfter ? `&startAfter=${encodeURIComponent(page.nextStartAfter)}` : '';
    try {
      const next = await api<ObjectPage>(
        'GET',
        `${bucketPath(bucket)}/objects?prefix=${encodeURIComponent(listPrefix)}&maxKeys=${PAGE}${after}`,
      );
      setPage(
        more && page
          ? {
              objects: [...page.objects, ...next.objects],
              folders: [...page.folders, ...next.folders],
              nextStartAfter: next.nextStartAfter,
            }
          : next,
      );
      setError('');
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => {
    setSelected(new Set());
    setDetails(null);
    void load(false);
  }, [bucket, listPrefix]);

  const queue = useMemo(
    () =>
      new UploadQueue((list, finished) => {
        setUploads(list);
        if (finished?.state === 'done') {
          void load(false);
          setChanged((n) => n + 1);
        }
        if (finished?.state === 'failed') setError(`Upload of ${finished.key} failed: ${finished.error ?? ''}`);
      }),
    [bucket],
  );
  const enqueue = (files: PickedFile[]): void =>
    queue.add(
      bucket,
      files.map((f) => ({ file: f.file, key: prefix + f.path })),
    );
  const picked = (e: Event): void => {
    const input = e.currentTarget as HTMLInputElement;
    enqueue([...(input.files ?? [])].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    input.value = '';
  };
  const dropped = async (e: DragEvent): Promise<void> => {
    e.preventDefault();
    setDragging(false);
    if (e.dataTransfer) enqueue(await filesOfDrop(e.dataTransfer));
  };

  const toggle = (key: string): void => {
    const next = new Set(selected);
    if (!next.delete(key)) next.add(key);
    setSelected(next);
  };
  const removeSelected = async (): Promise<void> => {
    if (!confirm(`Delete ${selected.size} object(s)?`)) return;
    try {
      const { deleted } = await api<{ deleted: string[] }>('POST', `${bucketPath(bucket)}/delete`, {
        keys: [...selected],
      });
      setNotice(`Deleted ${deleted.length} object(s)`);
      setSelected(new Set());
      setChanged((n) => n + 1);
      await load(false);
    } catch (e) {
      setError(`Delete refused: ${(e as Error).message}`);
    }
  };
  const open = async (o: ObjectRow): Promise<void> => {
    try {
      setDetails(await api<ObjectDetails>('GET', `${bucketPath(bucket)}/object?key=${encodeURIComponent(o.key)}`));
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const total = uploads.reduce((n, u) => n + u.size, 0);
  const sent = uploads.reduce((n, u) => n + (u.state === 'cancelled' || u.state === 'failed' ? u.size : u.loaded), 0);
  const crumbs = prefix.split('/').filter(Boolean);
  const name = (key: string): string => key.slice(prefix.length);

  return (
    <section
      class={dragging ? 'drop dragging' : 'drop'}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={dropped}
    >
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href="#/buckets">Buckets</a> / <a href={`#/buckets/${encodeURIComponent(bucket)}`}>{bucket}</a>
        {crumbs.map((c, i) => (
          <span key={i}>
            {' / '}
            <a
              href={`#/buckets/${encodeURIComponent(bucket)}?prefix=${encodeURIComponent(crumbs.slice(0, i + 1).join('/') + '/')}`}
            >
              {c}
            </a>
          </span>
        ))}
      </nav>
      <h1>{bucket}</h1>
      <BucketSettings bucket={bucket} changed={changed} />
      <Alert error={error} notice={notice} />
      <div class="toolbar">
        <label>
          Search by prefix{' '}
          <input type="search" value={search} onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label class="button">
          Upload files <input type="file" multiple onChange={picked} class="sr-only" data-testid="file-input" />
        </label>
        <label class="button">
          Upload a folder <input type="file" multiple onChange={picked} class="sr-only" {...{ webkitdirectory: '' }} />
        </label>
        <button type="button" class="danger" disabled={selected.size === 0} onClick={removeSelected}>
          Delete selected ({selected.size})
        </button>
      </div>
      <p class="hint">Or drop files and folders anywhere on this page.</p>
      {uploads.length > 0 && (
        <div class="uploads" aria-label="Uploads">
          <label>
            All uploads <progress data-testid="overall-progress" max={total || 1} value={sent} />{' '}
            {total ? Math.floor((100 * sent) / total) : 0}%
          </label>
          <ul>
            {uploads.map((u) => (
              <li key={u.id} data-state={u.state}>
                <label>
                  {u.key} <progress max={u.size || 1} value={u.loaded} aria-label={`Upload of ${u.key}`} />{' '}
                  {u.state === 'uploading' ? `${bytes(u.loaded)} of ${bytes(u.size)}` : u.state}
                </label>
                {(u.state === 'uploading' || u.state === 'queued') && (
                  <button type="button" onClick={() => queue.cancel(u.id)} aria-label={`Cancel the upload of ${u.key}`}>
                    Cancel
                  </button>
                )}
              </li>
            ))}
          </ul>
          <button type="button" onClick={() => queue.clear()}>
            Clear finished
          </button>
        </div>
      )}
      {details && (
        <Details
          bucket={bucket}
          object={details}
          onClose={() => setDetails(null)}
          onChanged={() => {
            setChanged((n) => n + 1);
            void load(false);
          }}
        />
      )}
      {page && (
        <div class="scroll">
          <table>
            <TableHead columns={[{ hidden: 'Select' }, 'Name', 'Size', 'Modified', { hidden: 'Actions' }]} />
            <tbody>
              {page.folders.map((f) => (
                <tr key={f}>
                  <td />
                  <td colSpan={4}>
                    <a href="#" onClick={(e) => (e.preventDefault(), setSearch(''), go(bucket, f))}>
                      📁 {name(f)}
                    </a>
                  </td>
                </tr>
              ))}
              {page.objects.map((o) => (
                <tr key={o.key} data-key={o.key}>
                  <td>
                    <input
                      type="checkbox"
                      checked={selected.has(o.key)}
                      onChange={() => toggle(o.key)}
                      aria-label={`Select ${o.key}`}
                    />
                  </td>
                  <td>
                    <button type="button" class="link" onClick={() => open(o)}>
                      {name(o.key)}
                    </button>
                  </td>
                  <td>{bytes(o.size)}</td>
                  <td>{date(o.lastModified)}</td>
                  <td>
                    <a
                      href={`${bucketPath(bucket)}/download?key=${encodeURIComponent(o.key)}`}
                      download
                      aria-label={`Download ${o.key}`}
                    >
                      Download
                    </a>
                  </td>
                </tr>
              ))}
              {page.folders.length + page.objects.length === 0 && (
                <tr>
                  <td colSpan={5}>Nothing here{listPrefix ? ` under ${listPrefix}` : ''}.</td>
                </tr>
              )}
            </tbody>
          </table>
          {page.nextStartAfter && (
            <button type="button" onClick={() => load(true)}>
              Load more
            </button>
          )}
        </div>
      )}
    </section>
  );
}
