import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type ClusterState } from '../api';
import { Sparkline } from './Sparkline';
import { bytes } from '../format';
import { Alert } from './Alert';

const REFRESH_MS = 2000;
/** Two minutes of samples. */
const HISTORY = 60;

interface Rates {
  requests: number;
  errors: number;
  latencyMs: number;
  bytesIn: number;
  bytesOut: number;
}

/** Per-second rates between two samples of the counters. */
function rates(a: ClusterState, b: ClusterState): Rates | null {
  if (!a.traffic || !b.traffic || b.at <= a.at) return null;
  const s = (b.at - a.at) / 1000;
  const n = b.traffic.requests - a.traffic.requests;
  return {
    requests: n / s,
    errors: (b.traffic.serverErrors + b.traffic.clientErrors - a.traffic.serverErrors - a.traffic.clientErrors) / s,
    latencyMs: n > 0 ? ((b.traffic.latencySeconds - a.traffic.latencySeconds) / n) * 1000 : 0,
    bytesIn: (b.traffic.bytesIn - a.traffic.bytesIn) / s,
    bytesOut: (b.traffic.bytesOut - a.traffic.bytesOut) / s,
  };
}

export function Cluster() {
  const [state, setState] = useState<ClusterState | null>(null);
  const [history, setHistory] = useState<Rates[]>([]);
  const previous = useRef<ClusterState | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let live = true;
    const load = (): void =>
      void api<ClusterState>('GET', '/api/cluster').then(
        (s) => {
          if (!live) return;
          const r = previous.current && rates(previous.current, s);
          previous.current = s;
          if (r) setHistory((h) => [...h.slice(-(HISTORY - 1)), r]);
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
            {state.up} of {state.backends.length} backends up; objects are written as {state.geometry.dataShards}+
            {state.geometry.parityShards}
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
          <p data-testid="cluster-queues">
            Repair queue: <strong>{state.queues.repair}</strong> chunk{state.queues.repair === 1 ? '' : 's'} below full
            redundancy (degraded writes to complete, shards to rebuild). Delete queue:{' '}
            <strong>{state.queues.delete}</strong> shard{state.queues.delete === 1 ? '' : 's'} to remove.
          </p>
          {state.reservationFailures.length > 0 && (
            <>
              <h2>Namespace reservations failed</h2>
              <ul class="warn" data-testid="reservation-failures">
                {state.reservationFailures.map((f) => (
                  <li key={f.backend}>
                    {f.backend} (farm {f.farm}, node {f.node.slice(0, 16)}): {f.reason}
                  </li>
                ))}
              </ul>
            </>
          )}
          {state.traffic && (
            <>
              <h2>S3 traffic</h2>
              <div class="charts">
                {(
                  [
                    ['requests', 'Requests/s', (v: number) => v.toFixed(1)],
                    ['errors', 'Errors/s (4xx and 5xx)', (v: number) => v.toFixed(1)],
                    ['latencyMs', 'Mean latency, ms', (v: number) => v.toFixed(0)],
                    ['bytesIn', 'Received/s', (v: number) => bytes(v)],
                    ['bytesOut', 'Sent/s', (v: number) => bytes(v)],
                  ] as const
                ).map(([field, title, show]) => {
                  const values = history.map((r) => r[field]);
                  const last = values.length > 0 ? show(values[values.length - 1]!) : '–';
                  return (
                    <figure key={field}>
                      <figcaption>
                        {title}: <strong>{last}</strong>
                      </figcaption>
                      <Sparkline values={values} label={`${title}, last two minutes; now ${last}`} />
                    </figure>
                  );
                })}
              </div>
              <p class="hint">
                Since start: {state.traffic.requests} requests, {state.traffic.clientErrors} refused (4xx),{' '}
                {state.traffic.serverErrors} failed (5xx); {bytes(state.traffic.bytesIn)} received,{' '}
                {bytes(state.traffic.bytesOut)} sent.
              </p>
            </>
          )}
          <p class="hint">
            Refreshed every {REFRESH_MS / 1000} s. Prometheus metrics at <a href="/metrics">/metrics</a>.
          </p>
        </>
      )}
    </section>
  );
}
