/** The console's JSON API (gateway/console/): same-origin calls, the CSRF token on each change. */

export interface Me {
  accessKeyId: string;
  root: boolean;
  csrf: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';
let onLoggedOut: () => void = () => {};

export function setSession(me: Me | null): void {
  csrf = me?.csrf ?? '';
}

/** Called when the server says the session is gone (expired, logged out elsewhere, key deleted). */
export function whenLoggedOut(callback: () => void): void {
  onLoggedOut = callback;
}

export function csrfToken(): string {
  return csrf;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const value = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
  if (!res.ok) {
    if (res.status === 401 && path !== '/api/session') onLoggedOut();
    throw new ApiError(res.status, value.code ?? 'Error', value.message ?? res.statusText);
  }
  return value as T;
}

export const bucketPath = (bucket: string): string => `/api/buckets/${encodeURIComponent(bucket)}`;

export interface BucketRow {
  name: string;
  created: number;
  /** Keys whose newest version is an object, and their bytes. */
  objects: number;
  bytes: number;
  /** Every stored object version (the newest included), and their bytes. */
  versions: number;
  versionBytes: number;
  erasure: { dataShards: number; parityShards: number };
  versioning: 'Off' | 'Enabled' | 'Suspended';
  objectLock: { defaultRetention: { mode: string; days?: number; years?: number } | null } | null;
}

export interface ObjectRow {
  key: string;
  size: number;
  etag: string;
  lastModified: number;
}

export interface ObjectPage {
  objects: ObjectRow[];
  folders: string[];
  nextStartAfter: string | null;
}

export interface ObjectDetails extends ObjectRow {
  contentType: string;
  metadata: Record<string, string>;
}

/** One version of a key (ListObjectVersions' row): an object, or a delete marker. */
export interface VersionRow {
  versionId: string;
  lastModified: number;
  isLatest: boolean;
  deleteMarker: boolean;
  size: number;
  etag: string | null;
}

export interface VersionPage {
  versions: VersionRow[];
  /** Pass as `after` for the next page; null on the last. */
  nextAfter: string | null;
}

export interface KeyRow {
  accessKeyId: string;
  name: string;
  created: number;
  grants: Array<{ bucket: string; permissions: { read: boolean; write: boolean; owner: boolean } }>;
}

export interface BackendRow {
  id: string;
  farm: string;
  node: string;
  state: 'up' | 'down';
  freeBytes: number;
  address?: string;
}

export interface Traffic {
  requests: number;
  clientErrors: number;
  serverErrors: number;
  latencySeconds: number;
  bytesIn: number;
  bytesOut: number;
}

export interface ReservationFailure {
  backend: string;
  farm: string;
  node: string;
  reason: string;
  at: number;
}

export interface ClusterState {
  traffic: Traffic | null;
  /** Server time of the sample, Unix ms. */
  at: number;
  backends: BackendRow[];
  up: number;
  geometry: { dataShards: number; parityShards: number };
  writable: boolean;
  /** Chunks waiting for repair (degraded writes to complete), shards waiting for deletion. */
  queues: { repair: number; delete: number };
  reservationFailures: ReservationFailure[];
}
