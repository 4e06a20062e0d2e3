import { z } from 'zod';
import { CodedError } from '../util/coded-error.js';
import { parseWith, record, text } from '../util/schema.js';
import type { Backend } from './backend.js';

export class BackendConfigError extends CodedError<'INVALID_BACKEND_CONFIG'> {
  constructor(message: string) {
    super('INVALID_BACKEND_CONFIG', message);
  }
}

/** `host:port` (an IPv6 host in brackets), as a host and a port. */
const address = text().transform((s, ctx) => {
  const m = /^(.+):(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) {
    ctx.addIssue({ code: 'custom', message: 'must be host:port' });
    return z.NEVER;
  }
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
});

const entry = record({
  id: text(),
  farm: text(),
  node: text(),
  address,
  namespace: text(),
  password: text().optional(),
  socket: text().optional(),
});

/**
 * The `backends` list of a config document: `[{ "id", "farm", "node", "address": "host:port",
 * "namespace", "password"?, "socket"? }]`, at least one, ids distinct.
 */
export const backendList = z
  .array(entry, { error: 'must be a non-empty array' })
  .min(1, 'must be a non-empty array')
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    for (const [i, b] of list.entries()) {
      if (seen.has(b.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `"${b.id}" is used twice` });
      seen.add(b.id);
    }
  })
  .transform((list) =>
    list.map((b): Backend => ({
      id: b.id,
      farm: b.farm,
      node: b.node,
      host: b.address.host,
      port: b.address.port,
      namespace: b.namespace,
      password: b.password,
      ...(b.socket !== undefined ? { socket: b.socket } : {}),
      freeBytes: 0,
      state: 'up',
    })),
  );

/** The backends of a config document (`{ "backends": [...] }`); every error names the entry and the field. */
export function parseBackendConfig(doc: unknown, source = 'config'): Backend[] {
  return parseWith(
    record({ backends: backendList }),
    doc,
    '',
    (message) => new BackendConfigError(`${source}: ${message}`),
  ).backends;
}
