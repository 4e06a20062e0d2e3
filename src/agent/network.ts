import os from 'node:os';

/**
 * The node's reachable addresses, as Zero-OS reports its public config: global addresses
 * first (IPv4 before IPv6), loopback last (a single-machine grid). Link-local IPv6 is left
 * out: it needs an interface name to be dialled.
 */
export function detectAddresses(): string[] {
  const found: Array<{ address: string; rank: number }> = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:')) continue;
      found.push({ address: a.address, rank: (a.internal ? 2 : 0) + (a.family === 'IPv6' ? 1 : 0) });
    }
  }
  return [...new Set(found.sort((x, y) => x.rank - y.rank).map((a) => a.address))];
}

/** The address to dial for a service listening on `listen` (a wildcard means "this host"). */
export function localAddressFor(listen: string): string {
  if (listen === '0.0.0.0' || listen === '') return '127.0.0.1';
  if (listen === '::') return '::1';
  return listen;
}

/** host:port for a URL, bracketing IPv6. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
