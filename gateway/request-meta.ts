import type { Bucket, MetaStore } from '../src/meta/meta-store.js';

/** MetaStore methods that only read: calling them keeps the request's bucket records. */
const READS = /^(get|list|count)/;

/**
 * The metadata store as one request sees it: a bucket's record is read once per request, not
 * once by the authoriser, once by the operation and once by the store (on PostgreSQL each read
 * is a round trip). Any other call that may write forgets what was read, so a request that
 * changes its bucket reads it again afterwards. Writes themselves still read the bucket inside
 * their own transaction: this memo never decides what a write does to versions.
 */
export function requestMeta(meta: MetaStore): MetaStore {
  const buckets = new Map<string, Promise<Bucket | null>>();
  const getBucket = (name: string): Promise<Bucket | null> => {
    let bucket = buckets.get(name);
    if (!bucket) {
      bucket = meta.getBucket(name);
      buckets.set(name, bucket);
      bucket.catch(() => buckets.delete(name));
    }
    return bucket;
  };
  return new Proxy(meta, {
    get(target, prop) {
      if (prop === 'getBucket') return getBucket;
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (typeof prop === 'string' && READS.test(prop)) return method.bind(target);
      return (...args: unknown[]) => {
        buckets.clear();
        return method.apply(target, args);
      };
    },
  });
}
