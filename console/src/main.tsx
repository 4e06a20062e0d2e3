import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setSession, whenLoggedOut, type Me } from './api';
import { Access } from './pages/Access';
import { Buckets } from './pages/Buckets';
import { Cluster } from './pages/Cluster';
import { Login } from './pages/Login';
import { Objects } from './pages/Objects';
import './style.css';

/** The address after '#': `/buckets`, `/buckets/NAME?prefix=P`, `/access`, `/cluster`. */
function useRoute(): string {
  const [route, setRoute] = useState(location.hash.slice(1) || '/buckets');
  useEffect(() => {
    const update = (): void => setRoute(location.hash.slice(1) || '/buckets');
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const route = useRoute();
  const loggedIn = (value: Me | null): void => {
    setSession(value);
    setMe(value);
  };
  useEffect(() => {
    whenLoggedOut(() => loggedIn(null));
    api<Me>('GET', '/api/session').then(loggedIn, () => loggedIn(null));
  }, []);
  if (me === undefined) return <p class="loading">Loading…</p>;
  if (me === null) return <Login onLogin={loggedIn} />;
  const [path, query = ''] = route.split('?');
  const parts = path!.split('/').filter(Boolean).map(decodeURIComponent);
  let page;
  if (parts[0] === 'buckets' && parts[1] !== undefined)
    page = <Objects bucket={parts[1]} prefix={new URLSearchParams(query).get('prefix') ?? ''} />;
  else if (parts[0] === 'access' && me.root) page = <Access />;
  else if (parts[0] === 'cluster') page = <Cluster />;
  else page = <Buckets me={me} />;
  const current = parts[0] ?? 'buckets';
  const link = (to: string, label: string) => (
    <a href={`#/${to}`} aria-current={current === to ? 'page' : undefined}>
      {label}
    </a>
  );
  const logout = async (): Promise<void> => {
    await api('DELETE', '/api/session').catch(() => {});
    loggedIn(null);
  };
  return (
    <>
      <header>
        <strong class="brand">qstor</strong>
        <nav aria-label="Main">
          {link('buckets', 'Buckets')}
          {me.root && link('access', 'Access')}
          {link('cluster', 'Cluster')}
        </nav>
        <span class="who">
          {me.accessKeyId}
          {me.root ? ' (root)' : ''}
        </span>
        <button type="button" onClick={logout}>
          Log out
        </button>
      </header>
      <main>{page}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
