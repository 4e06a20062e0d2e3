import path from 'node:path';
import { FlistError } from '../errors.js';
import type { Route } from '../schema.js';
import { DirStore } from './dir-store.js';
import { HttpStore } from './http-store.js';
import { S3Store } from './s3-store.js';
import { Router } from './router.js';
import { redact, type BlockStore } from './store.js';
import { ZdbStore } from './zdb-store.js';

/** A store URL with the range of first id bytes it serves (`00-7f=URL`, as rfs takes them). */
export function parseRoute(spec: string): Route {
  const m = /^([0-9a-f]{2})-([0-9a-f]{2})=(.+)$/i.exec(spec);
  if (!m) return { start: 0x00, end: 0xff, url: spec };
  const start = parseInt(m[1]!, 16);
  const end = parseInt(m[2]!, 16);
  if (start > end) throw new FlistError('BAD_URL', `route range ${m[1]}-${m[2]} is empty`);
  return { start, end, url: m[3]! };
}

export function openStore(url: string): BlockStore {
  let u: URL;
  try {
    u = new URL(url);
  } catch (err) {
    throw new FlistError('BAD_URL', `not a store URL: ${url}`, { cause: err });
  }
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  switch (u.protocol) {
    case 'dir:':
      if (!path.isAbsolute(decodeURIComponent(u.pathname)))
        throw new FlistError('BAD_URL', `dir store needs an absolute path: ${url}`);
      return new DirStore(url, decodeURIComponent(u.pathname));
    case 'zdb:': {
      // zdb://host:port/namespace; 9900 and the default namespace when left out, as rfs.
      const namespace = decodeURIComponent(u.pathname.replace(/^\/+/, '')) || undefined;
      return new ZdbStore(url, {
        host: hostOf(u),
        port: Number(u.port) || 9900,
        namespace,
        password: password || undefined,
      });
    }
    case 's3:':
    case 's3s:': {
      const bucket = decodeURIComponent(u.pathname.replace(/^\/+|\/+$/g, ''));
      if (!bucket || !user || !password || !u.port)
        throw new FlistError('BAD_URL', `s3 store needs s3://access:secret@host:port/bucket: ${redact(url)}`);
      const endpoint = new URL(`${u.protocol === 's3s:' ? 'https' : 'http'}://${u.host}`);
      return new S3Store(url, {
        endpoint,
        bucket,
        region: u.searchParams.get('region') || 'us-east-1',
        accessKeyId: user,
        secretAccessKey: password,
      });
    }
    case 'http:':
    case 'https:':
      return new HttpStore(url);
    default:
      throw new FlistError('BAD_URL', `unknown store type '${u.protocol.replace(/:$/, '')}' in ${redact(url)}`);
  }
}

function hostOf(u: URL): string {
  // IPv6 literals come bracketed from URL.
  return u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
}

/** A router over routes (`--store` specs parsed, or an flist's route table). */
export function openRouter(routes: Route[]): Router {
  return new Router(routes.map((r) => ({ start: r.start, end: r.end, store: openStore(r.url) })));
}
