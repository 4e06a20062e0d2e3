import { useEffect, useState } from 'preact/hooks';
import { api, bucketPath, type BucketRow, type Me } from '../api';
import { bytes, date } from '../format';
import { Alert } from './Alert';
import { TableHead } from './TableHead';

export function Buckets({ me }: { me: Me }) {
  const [buckets, setBuckets] = useState<BucketRow[] | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const load = (): void =>
    void api<{ buckets: BucketRow[] }>('GET', '/api/buckets').then(
      (r) => setBuckets(r.buckets),
      (e: Error) => setError(e.message),
    );
  useEffect(load, []);

  const create = async (e: Event): Promise<void> => {
    e.preventDefault();
    const formEl = e.currentTarget as HTMLFormElement;
    const form = new FormData(formEl);
    setError('');
    try {
      await api('POST', '/api/buckets', {
        name: form.get('name'),
        dataShards: Number(form.get('k')),
        parityShards: Number(form.get('m')),
        versioning: form.get('versioning') === 'on',
        objectLock: form.get('objectLock') === 'on',
      });
      setNotice(`Bucket ${String(form.get('name'))} created`);
      formEl.reset();
      load();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const remove = async (name: string): Promise<void> => {
    if (!confirm(`Delete bucket ${name}?`)) return;
    setError('');
    try {
      await api('DELETE', bucketPath(name));
      setNotice(`Bucket ${name} deleted`);
      load();
    } catch (err) {
      setError(`Cannot delete ${name}: ${(err as Error).message}`);
    }
  };

  return (
    <section>
      <h1>Buckets</h1>
      <Alert error={error} notice={notice} />
      {me.root && (
        <form class="inline" onSubmit={create} aria-label="Create a bucket">
          <label>
            Name{' '}
            <input
              name="name"
              required
              pattern="[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]"
              title="3 to 63 lowercase letters, digits, dots and hyphens"
            />
          </label>
          <label>
            Data shards (k) <input name="k" type="number" min="1" max="16" value="4" required />
          </label>
          <label>
            Parity shards (m) <input name="m" type="number" min="0" max="8" value="2" required />
          </label>
          <label>
            <input name="versioning" type="checkbox" /> Versioning
          </label>
          <label title="Chosen at creation only; turns versioning on for good">
            <input name="objectLock" type="checkbox" /> Object lock
          </label>
          <button type="submit">Create bucket</button>
        </form>
      )}
      {buckets === null ? (
        <p>Loading…</p>
      ) : buckets.length === 0 ? (
        <p>No bucket{me.root ? ' yet' : ' granted to this key'}.</p>
      ) : (
        <div class="scroll">
          <table>
            <TableHead
              columns={['Name', 'Objects', 'Size', 'Erasure', 'Versioning', 'Created', { hidden: 'Actions' }]}
            />
            <tbody>
              {buckets.map((b) => (
                <tr key={b.name}>
                  <td>
                    <a href={`#/buckets/${encodeURIComponent(b.name)}`}>{b.name}</a>
                  </td>
                  <td data-testid="bucket-objects">{b.objects}</td>
                  <td data-testid="bucket-bytes">{bytes(b.bytes)}</td>
                  <td>
                    {b.erasure.dataShards}+{b.erasure.parityShards}
                  </td>
                  <td data-testid="bucket-versioning">
                    {b.versioning}
                    {b.objectLock ? ', object lock' : ''}
                  </td>
                  <td>{date(b.created)}</td>
                  <td>
                    <button
                      type="button"
                      class="danger"
                      onClick={() => remove(b.name)}
                      aria-label={`Delete bucket ${b.name}`}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
