import { useEffect, useState } from 'preact/hooks';
import { api, type ClusterState } from '../api';
import { bytes } from '../format';
import { Alert } from './Alert';

const REFRESH_MS = 2000;

export function Cluster() {
  const [state, setState] = useState<ClusterState | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let live = true;
    const load = (): void =>
      void api<ClusterState>('GET', '/api/cluster').then(
        (s) => {
          if (!live) return;
          setState(s);
          setError('');
        },
        (e: Error) => live && setError(e.message),
      );
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  return (
    <section>
      <h1>Cluster</h1>
      <Alert error={error} />
      {state && (
        <>
          <p class={state.writable ? 'ok' : 'warn'} data-testid="cluster-summary">
            {state.up} of {state.backends.length} backends up; objects are written as {state.geometry.dataShards}+{state.geometry.parityShards}
            {state.writable ? '.' : ': too few backends for a full-redundancy write.'}
          </p>
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Backend</th>
                  <th scope="col">Farm</th>
                  <th scope="col">Node</th>
                  <th scope="col">State</th>
                  <th scope="col">Free</th>
                  {state.backends.some((b) => b.address) && <th scope="col">Address</th>}
                </tr>
              </thead>
              <tbody>
                {state.backends.map((b) => (
                  <tr key={b.id} data-backend={b.id}>
                    <td>{b.id}</td>
                    <td>{b.farm}</td>
                    <td>{b.node}</td>
                    <td>
                      <span class={`state ${b.state}`}>{b.state}</span>
                    </td>
                    <td>{bytes(b.freeBytes)}</td>
                    {b.address && <td>{b.address}</td>}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p class="hint">Refreshed every {REFRESH_MS / 1000} s. Prometheus metrics at <a href="/metrics">/metrics</a>.</p>
        </>
      )}
    </section>
  );
}
