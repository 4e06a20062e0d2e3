import pg from 'pg';
import { MetaUnavailableError } from '../errors.js';
import { withLiterals } from './literals.js';

/** What a family of statements runs its SQL through: one transaction's connection. */
export interface Sql {
  rows<R>(text: string, values?: unknown[]): Promise<R[]>;
  row<R>(text: string, values?: unknown[]): Promise<R | undefined>;
  /** Rows changed. */
  run(text: string, values?: unknown[]): Promise<number>;
}

export interface PoolOptions {
  /** Connections at most (default 10). */
  max?: number;
  /** A statement running longer is cancelled: the call fails as unavailable (default 30000). */
  statementTimeoutMs?: number;
  /** Waiting longer than this for a free connection fails the call (default 10000). */
  connectionTimeoutMs?: number;
}

/** The server's clock in ms since the epoch: every gateway agrees on it, whatever its own clock says. */
export const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/** The URL with its password replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

// bigint (int8) and numeric columns as numbers: every count, id and time here fits in 2^53.
const INT8 = 20;
const NUMERIC = 1700;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): unknown {
    if (oid === INT8 || oid === NUMERIC) return Number;
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  },
} as unknown as pg.CustomTypesConfig;

export function createPool(url: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    types,
  });
  // An idle connection the server closed (a restart) is dropped by the pool, which reconnects
  // on the next checkout; without a listener the error would end the process.
  pool.on('error', () => undefined);
  return pool;
}

// SQLSTATEs of a server that cannot answer: connection exceptions (class 08), admin or crash
// shutdown, starting up, too many connections, a statement cancelled by statement_timeout.
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014']);
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
// node-postgres's own connection failures carry no code, only these messages.
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|connection error and is not queryable|Client was closed/;

export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (UNAVAILABLE_STATES.has(code) || code.startsWith('08') || UNAVAILABLE_ERRNOS.has(code))
  )
    return true;
  return UNAVAILABLE_MESSAGES.test(error.message);
}

/** Serialization failure or deadlock: the transaction did nothing and may simply run again. */
function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
}

const MAX_ATTEMPTS = 30;

// Every statement text gets a name, so each connection parses and plans it once, then binds.
const names = new Map<string, string>();
function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) names.set(text, (name = `qstor${names.size}`));
  return name;
}

function sqlOf(client: pg.PoolClient): Sql {
  const query = (text: string, values?: unknown[]) => client.query({ name: nameOf(text), text, values });
  return {
    rows: async <R>(text: string, values?: unknown[]) => (await query(text, values)).rows as R[],
    row: async <R>(text: string, values?: unknown[]) => (await query(text, values)).rows[0] as R | undefined,
    run: async (text: string, values?: unknown[]) => (await query(text, values)).rowCount ?? 0,
  };
}

export type Isolation = 'SERIALIZABLE' | 'READ COMMITTED' | 'REPEATABLE READ READ ONLY';

/**
 * The pool behind a PostgreSQL metadata store: runs a body in one transaction, again from the
 * start after a serialization failure or a deadlock (the body must do nothing but SQL), and turns
 * every failure to reach the server into a MetaUnavailableError naming the URL without password.
 */
export class Database {
  constructor(
    readonly pool: pg.Pool,
    private readonly url: string,
  ) {}

  /** Statements without a transaction around them (each its own): single-statement reads and writes. */
  async statements<T>(body: (sql: Sql) => Promise<T>): Promise<T> {
    return this.transaction(null, body);
  }

  async transaction<T>(isolation: Isolation | null, body: (sql: Sql) => Promise<T>): Promise<T> {
    return this.retried(() =>
      this.onClient(isolation !== null, async (client) => {
        if (isolation) await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
        const result = await body(sqlOf(client));
        if (isolation) await client.query('COMMIT');
        return result;
      }),
    );
  }

  /**
   * One statement as a transaction of `isolation` in one round trip, where `transaction` takes
   * three (BEGIN, the statement, COMMIT): the three sent as one message of the simple query
   * protocol, the only one that takes several statements, so the values are written into the
   * text as literals (`withLiterals`). Retried as `transaction`. The statement's rows.
   */
  async inOneRoundTrip<R>(isolation: Isolation, text: string, values: unknown[]): Promise<R[]> {
    const message = `BEGIN ISOLATION LEVEL ${isolation}; ${withLiterals(text, values)}; COMMIT`;
    return this.retried(() =>
      this.onClient(true, async (client) => {
        const results = (await client.query(message)) as unknown as pg.QueryResult[];
        return results[1]!.rows as R[];
      }),
    );
  }

  /** `attempt` again after a serialization failure or a deadlock, up to MAX_ATTEMPTS. */
  private async retried<T>(attempt: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        if (isRetryable(error) && n < MAX_ATTEMPTS) {
          // Jittered, growing: contenders that collided do not collide again in lockstep.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 * n)));
          continue;
        }
        throw this.translate(error);
      }
    }
  }

  /** `error` as the caller should see it: unavailability typed, anything else as it is. */
  translate(error: unknown): unknown {
    if (error instanceof MetaUnavailableError) return error;
    if (isRetryable(error))
      return new MetaUnavailableError('metadata database: too much contention, try again', { cause: error });
    if (!isUnavailable(error)) return error;
    const reason = error instanceof Error ? error.message : String(error);
    return new MetaUnavailableError(`metadata database ${redactUrl(this.url)} unavailable: ${reason}`, {
      cause: error,
    });
  }

  /**
   * `run` on a pooled connection; `inTransaction`: a failure rolls back what `run` began (after
   * a failed COMMIT, which ended the transaction, the ROLLBACK only draws a warning).
   */
  private async onClient<T>(inTransaction: boolean, run: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A checked-out client's socket error is emitted on it (the pool listens only to idle
    // ones): the query in flight rejects with it, and this keeps the process alive.
    let broken: Error | undefined;
    const onError = (error: Error): void => void (broken = error);
    client.on('error', onError);
    try {
      return await run(client);
    } catch (error) {
      if (inTransaction && !broken && !isUnavailable(error))
        await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      if (isUnavailable(error)) broken ??= error as Error;
      throw error;
    } finally {
      client.off('error', onError);
      // A broken connection is destroyed, not reused: the next checkout opens a new one.
      client.release(broken ?? false);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
