import type Database from 'better-sqlite3';
import { prepare, type Statement } from './statements.js';
import type { GatewayInfo, Lease, LiveGateway } from '../meta-store.js';

/**
 * The leases on background work and the gateways' heartbeats. Time is the caller's clock
 * (Date.now()): the gateways sharing an sqlite file run on its one machine.
 */
export class Leases {
  private readonly take: Statement<[{ name: string; holder: string; until: number; now: number }]>;
  private readonly release: Statement<[string, string]>;
  private readonly list: Statement<[number], Lease>;

  constructor(db: Database.Database) {
    // One statement: a row is inserted, or taken over only when ours or expired, so two
    // processes racing for it cannot both succeed.
    this.take = prepare(
      db,
      `
      INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @until)
      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
      WHERE leases.holder = excluded.holder OR leases.expires_at <= @now`,
    );
    this.release = prepare(db, 'DELETE FROM leases WHERE name = ? AND holder = ?');
    this.list = prepare(
      db,
      'SELECT name, holder, expires_at AS expiresAt FROM leases WHERE expires_at > ? ORDER BY name',
    );
  }

  acquire(name: string, holder: string, ttlMs: number): boolean {
    const now = Date.now();
    return this.take.run({ name, holder, until: now + ttlMs, now }).changes > 0;
  }

  give(name: string, holder: string): void {
    this.release.run(name, holder);
  }

  current(): Lease[] {
    return this.list.all(Date.now());
  }
}

export class Gateways {
  private readonly upsert: Statement<[GatewayInfo & { now: number }]>;
  private readonly live: Statement<[number], LiveGateway>;
  private readonly remove: Statement<[string]>;

  constructor(db: Database.Database) {
    this.upsert = prepare(
      db,
      `
      INSERT INTO gateways (id, address, version, started_at, last_seen)
      VALUES (@id, @address, @version, @startedAt, @now)
      ON CONFLICT (id) DO UPDATE SET address = excluded.address, version = excluded.version,
        started_at = excluded.started_at, last_seen = excluded.last_seen`,
    );
    this.live = prepare(
      db,
      `SELECT id, address, version, started_at AS startedAt, last_seen AS lastSeen FROM gateways
       WHERE last_seen > ? ORDER BY id`,
    );
    this.remove = prepare(db, 'DELETE FROM gateways WHERE id = ?');
  }

  heartbeat({ id, address, version, startedAt }: GatewayInfo): void {
    this.upsert.run({ id, address, version, startedAt, now: Date.now() });
  }

  list(maxAgeMs: number): LiveGateway[] {
    return this.live.all(Date.now() - maxAgeMs);
  }

  forget(id: string): void {
    this.remove.run(id);
  }
}
