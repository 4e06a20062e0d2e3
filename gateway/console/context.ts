import type { MetaStore } from '../../src/meta/meta-store.js';
import type { BackendPool } from '../../src/store/backend-pool.js';
import type { ObjectStore } from '../../src/store/object-store.js';
import { authorize, NEEDED } from '../auth/access.js';
import { ACTION, versionAction } from '../auth/actions.js';
import { authorizeAccess } from '../auth/request-access.js';
import type { Credentials, Identity } from '../auth/credentials.js';
import type { Operation } from '../router.js';
import type { Exchange } from './http.js';

/**
 * Totals since start of `qstor_s3_requests_total` (by status class), of its latency histogram's
 * sum, and of the body bytes received and sent.
 */
export interface Traffic {
  requests: number;
  clientErrors: number;
  serverErrors: number;
  latencySeconds: number;
  bytesIn: number;
  bytesOut: number;
}

/** A registry zdb whose namespace reservation failed, as `src/cluster`'s Discovery keeps it. */
export interface ReservationFailure {
  backend: string;
  farm: string;
  node: string;
  reason: string;
  at: number;
}

/** What every API handler gets: the exchange, the session's identity and the store. */
export interface ApiContext extends Exchange {
  identity: Identity;
  store: ObjectStore;
  meta: MetaStore;
  backends: BackendPool;
  credentials: Credentials;
  masterKey: Buffer;
  region: string;
  /** Where presigned share links point: the S3 endpoint as this browser reaches it. */
  s3Endpoint: string;
  /** The S3 request counters of /metrics, when the admin port keeps them. */
  traffic: () => Promise<Traffic | null>;
  /** The registry's zdbs whose namespace reservation failed (none without a registry). */
  reservationFailures: () => ReservationFailure[];
}

/** The object a call acts on, and the version it names (which makes s3:GetObject s3:GetObjectVersion...). */
export interface Target {
  key: string;
  versionId?: string;
}

/**
 * The same check an S3 request of operation `op` on `bucket` (and `target`) passes: the key's
 * grants, the bucket's policy and ACLs (gateway/auth/request-access.ts), so the console grants
 * nothing S3 would refuse. Calls on no bucket (keys, creating one) are root's or anyone's, as
 * `NEEDED` says.
 */
export function allow(ctx: ApiContext, op: Operation, bucket: string | null, target?: Target): Promise<void> {
  const right = NEEDED[op];
  const action = ACTION[op];
  if (bucket === null || right === 'root' || right === 'none' || action === null)
    return authorize(ctx.meta, ctx.identity, bucket, right);
  const check = {
    action: versionAction(action, target?.versionId),
    right,
    bucket,
    key: target?.key ?? null,
    versionId: target?.versionId,
  };
  return authorizeAccess(ctx.meta, ctx.identity, ctx.req, new Map(ctx.url.searchParams), check, Date.now());
}
