/** Usage lines of `qstor flist` and the options every reading subcommand shares. */
export const FLIST_USAGE = `  qstor flist create --from DIR|IMAGE.tar --store URL [--store URL...] -o OUT.fl [--tag K=V] [--no-strip-password]
      an flist of a directory or a docker save / OCI image tarball; stores: zdb://host:port/ns,
      s3://access:secret@host:port/bucket, dir:///path (each may start with a range, 00-7f=URL)
  qstor flist ls|inspect FILE.fl [PATH]     the tree (long format) / tags, routes and counts
  qstor flist cat FILE.fl PATH [--store URL] [--cache DIR]
  qstor flist unpack FILE.fl DEST [--store URL] [--cache DIR]
  qstor flist mount FILE.fl MOUNTPOINT [--cache DIR] [--store URL]   FUSE, read-only, until Ctrl-C
  qstor flist umount MOUNTPOINT
  qstor flist run FILE.fl [--cache DIR] [--store URL] [--user UID:GID] -- CMD [ARGS...]
      CMD in the flist (overlay, own namespaces); --user: as UID:GID, no capabilities, no-new-privs
`;

/** `--store`/`--cache`, which every reading subcommand takes. */
export const READ_OPTIONS = { store: { type: 'string', multiple: true }, cache: { type: 'string' } } as const;

