import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { CodedError } from '../src/util/coded-error.js';
import { IndexMode } from './engine/format.js';

export interface ZdbConfig {
  listen: string;
  port: number;
  socket: string | null;
  /** Listen on TCP as well when a unix socket is given (0-db's --dualnet). */
  dualnet: boolean;
  data: string;
  index: string;
  mode: IndexMode | null;
  datasize: number;
  admin: string;
  protect: boolean;
  maxsize: number;
  sync: boolean;
  synctime: number;
  /** Drop written data from the page cache once it is on disk. */
  evictSynced: boolean;
  compactRatio: number;
  logfile: string | null;
  verbose: boolean;
  background: boolean;
  /** Connections served at once (each may buffer one request of up to about 8 MiB). */
  maxConnections: number;
  /** Seconds a client has to finish a request it began. */
  requestTimeout: number;
}

/** USAGE: --help was asked (the message is the usage text); INVALID: a flag or its value is wrong. */
export class ConfigError extends CodedError<'USAGE' | 'INVALID'> {}

const invalid = (message: string): ConfigError => new ConfigError('INVALID', message);

export const DEFAULT_MAX_CONNECTIONS = 1024;
export const DEFAULT_REQUEST_TIMEOUT_S = 60;

const MIN_DATASIZE = 512 * 1024;
const MAX_DATASIZE = 0xffffffff;

/** "256M", "1G", "524288": sizes the way 0-db's --datasize reads them. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)b?$/i.exec(text.trim());
  if (!m) throw invalid(`invalid size: ${text}`);
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[
    m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'
  ];
  return Math.floor(Number(m[1]) * scale);
}

export function parseConfig(argv: string[]): ZdbConfig {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      listen: { type: 'string', default: '::' },
      port: { type: 'string', default: '9900' },
      socket: { type: 'string' },
      dualnet: { type: 'boolean', default: false },
      data: { type: 'string', default: './zdb-data' },
      index: { type: 'string', default: './zdb-index' },
      mode: { type: 'string' },
      datasize: { type: 'string', default: String(256 * 1024 * 1024) },
      admin: { type: 'string', default: '' },
      'admin-file': { type: 'string' },
      protect: { type: 'boolean', default: false },
      maxsize: { type: 'string', default: '0' },
      sync: { type: 'boolean', default: false },
      synctime: { type: 'string', default: '0' },
      'evict-synced': { type: 'boolean', default: false },
      'compact-ratio': { type: 'string', default: '0' },
      logfile: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      background: { type: 'boolean', default: false },
      'max-connections': { type: 'string', default: String(DEFAULT_MAX_CONNECTIONS) },
      'request-timeout': { type: 'string', default: String(DEFAULT_REQUEST_TIMEOUT_S) },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) throw new ConfigError('USAGE', usage());
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalid(`invalid port: ${values.port}`);
  let mode: IndexMode | null = null;
  if (values.mode !== undefined) {
    if (values.mode === 'user') mode = IndexMode.User;
    else if (values.mode === 'seq') mode = IndexMode.Seq;
    else throw invalid(`invalid mode: ${values.mode} (expected user or seq)`);
  }
  const datasize = parseSize(values.datasize);
  if (datasize < MIN_DATASIZE || datasize >= MAX_DATASIZE)
    throw invalid(`datasize must be between ${MIN_DATASIZE} and ${MAX_DATASIZE - 1} bytes`);
  const admin = values['admin-file'] !== undefined ? readAdminFile(values['admin-file'], values.admin) : values.admin;
  if (values.protect && !admin) throw invalid('--protect needs --admin or --admin-file');
  const compactRatio = Number(values['compact-ratio']);
  if (!(compactRatio >= 0 && compactRatio < 1)) throw invalid('--compact-ratio must be in [0, 1)');
  const maxConnections = Number(values['max-connections']);
  if (!Number.isInteger(maxConnections) || maxConnections < 1)
    throw invalid(`invalid --max-connections: ${values['max-connections']}`);
  if (values['evict-synced'] && !values.sync) throw invalid('--evict-synced needs --sync');
  const requestTimeout = Number(values['request-timeout']);
  if (!(requestTimeout > 0)) throw invalid(`invalid --request-timeout: ${values['request-timeout']}`);
  return {
    listen: values.listen,
    port,
    socket: values.socket ?? null,
    dualnet: values.dualnet,
    data: values.data,
    index: values.index,
    mode,
    datasize,
    admin,
    protect: values.protect,
    maxsize: parseSize(values.maxsize),
    sync: values.sync,
    synctime: Number(values.synctime) || 0,
    evictSynced: values['evict-synced'],
    compactRatio,
    logfile: values.logfile ?? null,
    verbose: values.verbose,
    background: values.background,
    maxConnections,
    requestTimeout,
  };
}

/**
 * The admin password from a file (its first line), so that it never shows on a command line
 * where any local user reads it in /proc/PID/cmdline.
 */
function readAdminFile(path: string, inline: string): string {
  if (inline) throw invalid('give --admin or --admin-file, not both');
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw invalid(`cannot read --admin-file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const secret = text.split(/\r?\n/, 1)[0]!;
  if (!secret) throw invalid(`--admin-file ${path} is empty`);
  return secret;
}

export function usage(): string {
  return `zdb: a Zero-DB server (wire- and disk-compatible with 0-db v2)

 Database settings:
  --data  <dir>        datafiles directory (default ./zdb-data)
  --index <dir>        indexfiles directory (default ./zdb-index)
  --mode  <mode>       user (key-value) or seq (sequential ids); default: mixed
  --datasize <size>    maximum datafile size before split (default 256M)

 Network options:
  --listen <addr>      listen address (default ::)
  --port   <port>      listen port (default 9900)
  --socket <path>      unix socket path (TCP too with --dualnet, or when --port is given)
  --dualnet            listen on the unix socket and TCP

 Administrative:
  --admin    <pass>    admin password (without it every client is admin)
  --admin-file <file>  read the admin password from the first line of this file (keeps it off
                       the command line; use instead of --admin)
  --maxsize  <size>    maximum data size of the default namespace
  --protect            protect the default namespace with the admin password
  --max-connections <n> clients served at once; one more gets an error and is closed
                       (default ${DEFAULT_MAX_CONNECTIONS})
  --request-timeout <secs> time a client has to finish a request it began; then it gets
                       an error and is closed (default ${DEFAULT_REQUEST_TIMEOUT_S})

 Durability and maintenance:
  --sync               answer writes only once they are on disk (group commit)
  --synctime <secs>    flush written data at least every <secs> seconds
  --evict-synced       with --sync: drop written data from the page cache once it is on
                       disk (a cached page per written byte is most of a durable write's
                       kernel CPU on a VM; later reads of that data come from the disk)
  --compact-ratio <r>  compact a data file online once this fraction of it is dead (0: only on COMPACT)

 Misc:
  --logfile <file>     write the log to this file
  --verbose            log more
  --background         detach once the server accepts connections (log to --logfile)
`;
}
