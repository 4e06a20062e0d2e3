import pg from 'pg';

/**
 * `text` with its `$n` parameters replaced by SQL literals, for the simple query protocol (the
 * only one that takes several statements in one message; see Database.inOneRoundTrip). Values
 * are quoted by pg's escapeLiteral or written as hex (bytea) and checked integers: no value is
 * ever read as SQL. Only the types the statements of this engine pass are accepted.
 */
export function withLiterals(text: string, values: unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const index = Number(n) - 1;
    if (!(index in values)) throw new Error(`no value for $${n}`);
    return literal(values[index]);
  });
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return pg.escapeLiteral(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
    return `${value}::bigint`;
  }
  if (Buffer.isBuffer(value)) return `decode('${value.toString('hex')}', 'hex')`;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string'))
    return `ARRAY[${value.map((v) => pg.escapeLiteral(v)).join(', ')}]::text[]`;
  throw new Error(`no SQL literal for ${typeof value}`);
}
