// The part of fuse-native 2.2.6's API (which ships no types) that the mount uses.
declare module 'fuse-native' {
  type Cb<T extends unknown[] = []> = (code: number, ...rest: T) => void;
  export interface FuseStat {
    mode: number;
    uid: number;
    gid: number;
    size: number;
    nlink: number;
    ino: number;
    rdev: number;
    blksize: number;
    blocks: number;
    /** Milliseconds since the epoch. */
    atime: number;
    mtime: number;
    ctime: number;
  }
  export interface FuseOps {
    init?(cb: Cb): void;
    getattr?(path: string, cb: Cb<[FuseStat?]>): void;
    readdir?(path: string, cb: Cb<[string[]?, FuseStat[]?]>): void;
    readlink?(path: string, cb: Cb<[string?]>): void;
    open?(path: string, flags: number, cb: Cb<[number?]>): void;
    /** cb(bytes read) or cb(negative errno). */
    read?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (result: number) => void): void;
    release?(path: string, fd: number, cb: Cb): void;
    statfs?(path: string, cb: Cb<[Record<string, number>?]>): void;
  }
  export interface FuseOptions {
    force?: boolean;
    mkdir?: boolean;
    allowOther?: boolean;
    kernelCache?: boolean;
    entryTimeout?: number;
    attrTimeout?: number;
    fsname?: string;
    subtype?: string;
    maxRead?: number;
    timeout?: number | false;
    debug?: boolean;
  }
  export default class Fuse {
    constructor(mnt: string, ops: FuseOps, opts?: FuseOptions);
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    static unmount(mnt: string, cb: (err: Error | null) => void): void;
    static ENOENT: number;
    static EIO: number;
    static EROFS: number;
    static EINVAL: number;
    static ENOTDIR: number;
  }
}
