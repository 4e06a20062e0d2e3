import { ZdbError } from './errors.js';

/** NSINFO of one namespace, with sizes as numbers (bytes; far below 2^53). */
export interface NamespaceInfo {
  name: string;
  entries: number;
  public: boolean;
  /** A password is set. */
  password: boolean;
  worm: boolean;
  /** Read-only (NSSET lock). */
  locked: boolean;
  mode: 'user' | 'seq';
  dataSizeBytes: number;
  /** maxsize; 0 means unlimited. */
  dataLimitsBytes: number;
  indexSizeBytes: number;
  /** maxsize minus data size; null when the namespace has no maxsize. */
  spaceAvailableBytes: number | null;
  /** Free space of the disk under the data / index directory; null when the server could not tell. */
  dataDiskFreespaceBytes: number | null;
  indexDiskFreespaceBytes: number | null;
  /** Every `key: value` line as sent, for the fields not lifted above (stats_*, admin-only paths). */
  fields: Record<string, string>;
}

/** Parses the bulk text NSINFO answers: "# namespace" then one "key: value" per line. */
export function parseNamespaceInfo(text: string): NamespaceInfo {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const sep = line.indexOf(': ');
    if (line.startsWith('#') || sep < 0) continue;
    fields[line.slice(0, sep)] = line.slice(sep + 2).trim();
  }

  const required = (key: string): string => {
    const v = fields[key];
    if (v === undefined) throw new ZdbError('PROTOCOL', `NSINFO reply lacks "${key}"`);
    return v;
  };
  const int = (key: string, v: string): number => {
    const n = Number(v);
    if (v === '' || !Number.isSafeInteger(n) || n < 0)
      throw new ZdbError('PROTOCOL', `NSINFO "${key}" is not a count: ${v}`);
    return n;
  };
  const num = (key: string): number => int(key, required(key));
  const optionalNum = (key: string): number | null => (fields[key] === undefined ? null : int(key, fields[key]));
  const flag = (key: string): boolean => {
    const v = required(key);
    if (v !== 'yes' && v !== 'no') throw new ZdbError('PROTOCOL', `NSINFO "${key}" is not yes/no: ${v}`);
    return v === 'yes';
  };

  return {
    name: required('name'),
    entries: num('entries'),
    public: flag('public'),
    password: flag('password'),
    worm: flag('worm'),
    locked: flag('locked'),
    mode: parseMode(required('mode')),
    dataSizeBytes: num('data_size_bytes'),
    dataLimitsBytes: num('data_limits_bytes'),
    indexSizeBytes: num('index_size_bytes'),
    spaceAvailableBytes: optionalNum('space_available'),
    dataDiskFreespaceBytes: optionalNum('data_disk_freespace_bytes'),
    indexDiskFreespaceBytes: optionalNum('index_disk_freespace_bytes'),
    fields,
  };
}

function parseMode(v: string): 'user' | 'seq' {
  // 0-db prints its internal mode names; accept the NSSET spellings too.
  if (v === 'userkey' || v === 'user') return 'user';
  if (v === 'sequential' || v === 'seq') return 'seq';
  throw new ZdbError('PROTOCOL', `NSINFO mode unknown: ${v}`);
}
