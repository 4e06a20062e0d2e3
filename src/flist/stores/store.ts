/** A content-addressed block store: ciphertext kept under its 32-byte id. */
export interface BlockStore {
  /** The URL this store was opened from (passwords included). */
  readonly url: string;
  /** The stored bytes; rejects with FlistError NOT_FOUND when absent. */
  get(id: Buffer): Promise<Buffer>;
  set(id: Buffer, data: Buffer): Promise<void>;
  exists(id: Buffer): Promise<boolean>;
  close(): Promise<void>;
}

/** `ab/abcdef...`: the layout rfs's dir and http stores share. */
export function shardedPath(id: Buffer): string {
  const hex = id.toString('hex');
  return `${hex.slice(0, 2)}/${hex}`;
}

/** The URL as it may be written into an flist or printed: without its password. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}
