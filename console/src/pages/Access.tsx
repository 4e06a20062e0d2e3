import { useEffect, useState } from 'preact/hooks';
import { api, type BucketRow, type KeyRow } from '../api';
import { date } from '../format';
import { Alert } from './Alert';
import { CopyButton } from './CopyButton';
import { TableHead } from './TableHead';

function rights(p: { read: boolean; write: boolean; owner: boolean }): string {
  return [p.read && 'read', p.write && 'write', p.owner && 'owner'].filter(Boolean).join(', ') || 'none';
}

export function Access() {
  const [keys, setKeys] = useState<KeyRow[] | null>(null);
  const [buckets, setBuckets] = useState<string[]>([]);
  const [created, setCreated] = useState<{ accessKeyId: string; secretAccessKey: string } | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const load = (): void => {
    api<{ keys: KeyRow[] }>('GET', '/api/keys').then(
      (r) => setKeys(r.keys),
      (e: Error) => setError(e.message),
    );
    api<{ buckets: BucketRow[] }>('GET', '/api/buckets').then(
      (r) => setBuckets(r.buckets.map((b) => b.name)),
      () => {},
    );
  };
  useEffect(load, []);
  const attempt = async (work: () => Promise<void>): Promise<void> => {
    setError('');
    setNotice('');
    try {
      await work();
      load();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const create = (e: Event): Promise<void> =>
    attempt(async () => {
      e.preventDefault();
      const form = e.currentTarget as HTMLFormElement;
      setCreated(await api('POST', '/api/keys', { name: new FormData(form).get('name') }));
      form.reset();
    });
  const remove = (id: string): Promise<void> =>
    attempt(async () => {
      if (!confirm(`Delete access key ${id}? Its sessions end too.`)) return;
      await api('DELETE', `/api/keys/${encodeURIComponent(id)}`);
      setNotice(`Key ${id} deleted`);
    });
  const grant = (e: Event): Promise<void> =>
    attempt(async () => {
      e.preventDefault();
      const form = new FormData(e.currentTarget as HTMLFormElement);
      const id = String(form.get('key'));
      await api('PUT', `/api/keys/${encodeURIComponent(id)}/grants`, {
        bucket: form.get('bucket'),
        read: form.has('read'),
        write: form.has('write'),
        owner: form.has('owner'),
      });
      setNotice(`Grants of ${id} on ${String(form.get('bucket'))} set`);
    });

  return (
    <section>
      <h1>Access keys</h1>
      <Alert error={error} notice={notice} />
      <form class="inline" onSubmit={create} aria-label="Create an access key">
        <label>
          Name <input name="name" placeholder="e.g. backups" maxLength={100} />
        </label>
        <button type="submit">Create key</button>
      </form>
      {created && (
        <div class="secret" role="status" data-testid="new-key">
          <p>
            <strong>Copy the secret now: it is shown this once.</strong>
          </p>
          <p>
            Access key id: <code data-testid="new-key-id">{created.accessKeyId}</code>{' '}
            <CopyButton text={created.accessKeyId} label="Copy the access key id" />
          </p>
          <p>
            Secret: <code data-testid="new-key-secret">{created.secretAccessKey}</code>{' '}
            <CopyButton text={created.secretAccessKey} label="Copy the secret" />
          </p>
          <button type="button" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      {keys === null ? (
        <p>Loading…</p>
      ) : (
        <div class="scroll">
          <table>
            <TableHead columns={['Access key id', 'Name', 'Created', 'Buckets', { hidden: 'Actions' }]} />
            <tbody>
              {keys.map((k) => (
                <tr key={k.accessKeyId} data-key={k.accessKeyId}>
                  <td>
                    <code>{k.accessKeyId}</code>
                  </td>
                  <td>{k.name || '–'}</td>
                  <td>{date(k.created)}</td>
                  <td>{k.grants.map((g) => `${g.bucket}: ${rights(g.permissions)}`).join('; ') || 'none'}</td>
                  <td>
                    <button
                      type="button"
                      class="danger"
                      onClick={() => remove(k.accessKeyId)}
                      aria-label={`Delete key ${k.accessKeyId}`}
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
      <h2>Bucket grants</h2>
      <form class="inline" onSubmit={grant} aria-label="Set a key's rights on a bucket">
        <label>
          Key
          <select name="key" required>
            {(keys ?? []).map((k) => (
              <option key={k.accessKeyId} value={k.accessKeyId}>
                {k.accessKeyId} {k.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Bucket
          <select name="bucket" required>
            {buckets.map((b) => (
              <option key={b}>{b}</option>
            ))}
          </select>
        </label>
        <fieldset>
          <legend>Rights</legend>
          <label>
            <input type="checkbox" name="read" /> read
          </label>
          <label>
            <input type="checkbox" name="write" /> write
          </label>
          <label>
            <input type="checkbox" name="owner" /> owner
          </label>
        </fieldset>
        <button type="submit">Set rights</button>
      </form>
    </section>
  );
}
