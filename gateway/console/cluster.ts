import type { BackendPool } from '../../src/store/backend-pool.js';
import type { ApiContext } from './context.js';
import { sendJson } from './http.js';

/** Backends are asked again at most this often, however many consoles are watching. */
const PROBE_EVERY_MS = 2000;
const probes = new WeakMap<BackendPool, { at: number; done: Promise<void> }>();

/**
 * GET /api/cluster: each backend's farm, node, state and free space, from the store's pool,
 * probed first (as /health reports it, so a killed backend shows down within seconds).
 * Addresses for root only. `traffic`: the S3 request counters of /metrics, whose rates the page
 * charts. `queues`: chunks waiting for repair (degraded writes to complete) and shards waiting
 * for deletion. `reservationFailures`: zdbs of the registry on which no namespace could be
 * reserved, and why (a gateway with a registry only).
 */
export async function cluster(ctx: ApiContext): Promise<void> {
  let probe = probes.get(ctx.backends);
  if (!probe || Date.now() - probe.at > PROBE_EVERY_MS)
    probes.set(ctx.backends, (probe = { at: Date.now(), done: ctx.backends.refresh() }));
  await probe.done;
  const backends = ctx.backends.list().map((b) => ({
    id: b.id,
    farm: b.farm,
    node: b.node,
    state: b.state,
    freeBytes: b.freeBytes,
    ...(ctx.identity.root ? { address: `${b.host}:${b.port}` } : {}),
  }));
  const up = backends.filter((b) => b.state === 'up').length;
  sendJson(ctx.res, 200, {
    backends,
    up,
    geometry: { dataShards: ctx.store.k, parityShards: ctx.store.m },
    writable: up >= ctx.store.k + ctx.store.m,
    traffic: await ctx.traffic(),
    queues: { repair: await ctx.meta.countRepairs(), delete: await ctx.meta.countDeletes() },
    reservationFailures: ctx.reservationFailures(),
    at: Date.now(),
  });
}
