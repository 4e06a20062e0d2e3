/**
 * S3 listing over any index ordered by key bytes: prefix, delimiter roll-up into common
 * prefixes, an exclusive start, a page size. A common prefix costs one seek past it, never a
 * walk through the keys it covers.
 */

/** Rows whose keys are in [from, upper) (upper null: no bound), in key byte order, read lazily. */
export type Scan<R extends { key: Buffer }> = (from: Buffer, upper: Buffer | null) => Iterable<R>;

export interface WalkOptions {
  prefix: Buffer;
  /** Null or empty: no roll-up. */
  delimiter: Buffer | null;
  /** Exclusive: only keys and common prefixes greater than this. */
  after: Buffer | null;
  /** Entries (rows and common prefixes together) to return. */
  max: number;
}

export interface Walk<R> {
  rows: R[];
  prefixes: Buffer[];
  /** More entries follow the page. */
  truncated: boolean;
  /** The page's last entry: a row, or a common prefix (row null). */
  last: { key: Buffer; row: R | null } | null;
}

/** The smallest byte string greater than every string that starts with `prefix`; null if none. */
export function prefixEnd(prefix: Buffer): Buffer | null {
  let i = prefix.length - 1;
  while (i >= 0 && prefix[i] === 0xff) i--;
  if (i < 0) return null;
  const end = Buffer.from(prefix.subarray(0, i + 1));
  end[i]++;
  return end;
}

const ZERO = Buffer.alloc(1);

/** The smallest byte string greater than `key`, so that every seek can be inclusive. */
export function keyAfter(key: Buffer): Buffer {
  return Buffer.concat([key, ZERO]);
}

export function walk<R extends { key: Buffer }>(scan: Scan<R>, options: WalkOptions): Walk<R> {
  const { prefix, after, max } = options;
  const delimiter = options.delimiter?.length ? options.delimiter : null;
  const page: Walk<R> = { rows: [], prefixes: [], truncated: false, last: null };
  const upper = prefixEnd(prefix);
  // Reading one entry past a full page is how we know whether it is truncated.
  const full = (): boolean => {
    if (page.rows.length + page.prefixes.length < max) return false;
    page.truncated = true;
    return true;
  };
  let from: Buffer | null = after && Buffer.compare(after, prefix) >= 0 ? keyAfter(after) : prefix;
  while (from) {
    let next: Buffer | null = null;
    for (const row of scan(from, upper)) {
      const cut = delimiter ? row.key.indexOf(delimiter, prefix.length) : -1;
      if (cut < 0) {
        if (full()) return page;
        page.rows.push(row);
        page.last = { key: row.key, row };
        continue;
      }
      const common = row.key.subarray(0, cut + delimiter!.length);
      // A prefix not above `after` was returned by an earlier page (or `after` lies inside it).
      if (!after || Buffer.compare(common, after) > 0) {
        if (full()) return page;
        const copy = Buffer.from(common);
        page.prefixes.push(copy);
        page.last = { key: copy, row: null };
      }
      next = prefixEnd(common);
      break;
    }
    from = next;
  }
  return page;
}
