import { CodedError } from '../util/coded-error.js';
import type { Backend } from './backend.js';

export class BackendConfigError extends CodedError<'INVALID_BACKEND_CONFIG'> {
  constructor(message: string) {
    super('INVALID_BACKEND_CONFIG', message);
  }
}

/**
 * The backends of a config document: `{ "backends": [{ "id", "farm", "node", "address":
 * "host:port", "namespace", "password"? }] }`. Every error names the entry and the field.
 */
export function parseBackendConfig(doc: unknown, source = 'config'): Backend[] {
  const list = (doc as { backends?: unknown })?.backends;
  if (!Array.isArray(list) || list.length === 0) throw new BackendConfigError(`${source}: "backends" must be a non-empty array`);
  const ids = new Set<string>();
  return list.map((raw: unknown, i) => {
    const at = `${source}: backends[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new BackendConfigError(`${at} must be an object`);
    const e = raw as Record<string, unknown>;
    const str = (field: string, optional = false): string | undefined => {
      const v = e[field];
      if (v === undefined && optional) return undefined;
      if (typeof v !== 'string' || v.length === 0) throw new BackendConfigError(`${at}.${field} must be a non-empty string`);
      return v;
    };
    const id = str('id')!;
    if (ids.has(id)) throw new BackendConfigError(`${at}.id "${id}" is used twice`);
    ids.add(id);
    const address = str('address')!;
    const m = /^(.+):(\d+)$/.exec(address);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) throw new BackendConfigError(`${at}.address must be host:port`);
    return {
      id,
      farm: str('farm')!,
      node: str('node')!,
      host: m[1]!.replace(/^\[(.*)\]$/, '$1'),
      port,
      namespace: str('namespace')!,
      password: str('password', true),
      freeBytes: 0,
      state: 'up' as const,
    };
  });
}
