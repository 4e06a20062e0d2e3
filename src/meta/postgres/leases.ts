import type { GatewayInfo, Lease, LiveGateway } from '../meta-store.js';
import type { Sql } from './connection.js';

const EPOCH_MS = (column: string): string => `(extract(epoch from ${column}) * 1000)::bigint`;

/**
 * Leases (one holder per name until it expires) and the heartbeats of live gateways. Time is
 * the server's clock (now()), so gateways whose clocks disagree still agree on who holds what.
 * Each method is one statement: taking a lease is an upsert whose update applies only if the
 * row is the holder's own or expired, which PostgreSQL decides under the row's lock.
 */
export class Leases {
  async acquire(sql: Sql, name: string, holder: string, ttlMs: number): Promise<boolean> {
    const taken = await sql.run(
      `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, now() + $3::float8 * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at <= now()`,
      [name, holder, ttlMs],
    );
    return taken > 0;
  }

  async release(sql: Sql, name: string, holder: string): Promise<void> {
    await sql.run('DELETE FROM leases WHERE name = $1 AND holder = $2', [name, holder]);
  }

  async list(sql: Sql): Promise<Lease[]> {
    return sql.rows<Lease>(
      `SELECT name, holder, ${EPOCH_MS('expires_at')} AS "expiresAt" FROM leases WHERE expires_at > now() ORDER BY name`,
    );
  }

  async heartbeat(sql: Sql, info: GatewayInfo): Promise<void> {
    await sql.run(
      `INSERT INTO gateways (id, address, version, started_at, last_seen) VALUES ($1, $2, $3, $4, now())
       ON CONFLICT (id) DO UPDATE SET address = excluded.address, version = excluded.version,
         started_at = excluded.started_at, last_seen = excluded.last_seen`,
      [info.id, info.address, info.version, info.startedAt],
    );
  }

  async gateways(sql: Sql, maxAgeMs: number): Promise<LiveGateway[]> {
    return sql.rows<LiveGateway>(
      `SELECT id, address, version, started_at AS "startedAt", ${EPOCH_MS('last_seen')} AS "lastSeen" FROM gateways
       WHERE last_seen > now() - $1::float8 * interval '1 millisecond' ORDER BY id`,
      [maxAgeMs],
    );
  }

  async forget(sql: Sql, id: string): Promise<void> {
    await sql.run('DELETE FROM gateways WHERE id = $1', [id]);
  }
}
