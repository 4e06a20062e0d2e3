import { useState } from 'preact/hooks';
import { api, type Me } from '../api';

export function Login({ onLogin }: { onLogin: (me: Me) => void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError('');
    try {
      // The secret goes in the body of one POST, never in a URL; the server keeps only a session.
      onLogin(
        await api<Me>('POST', '/api/session', {
          accessKeyId: form.get('accessKeyId'),
          secretAccessKey: form.get('secretAccessKey'),
        }),
      );
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <h1>qstor console</h1>
      <form onSubmit={submit}>
        <label for="accessKeyId">Access key id</label>
        <input id="accessKeyId" name="accessKeyId" autocomplete="username" required autofocus />
        <label for="secretAccessKey">Secret access key</label>
        <input id="secretAccessKey" name="secretAccessKey" type="password" autocomplete="current-password" required />
        <button type="submit" disabled={busy}>
          Log in
        </button>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
      <p class="hint">
        Root's pair is in the data directory's credentials.json; other keys come from Access or `qstor admin key
        create`.
      </p>
    </main>
  );
}
