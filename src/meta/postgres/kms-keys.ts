import { MetaError } from '../errors.js';
import type { KmsKey } from '../meta-store.js';
import type { Sql } from './connection.js';

const SELECT_KEY = 'SELECT id, sealed_key AS "sealedKey", created FROM kms_keys';

/** KMS keys (src/kms), each as the caller sealed it under the master key. */
export class KmsKeys {
  async create(sql: Sql, id: string, sealedKey: Buffer, created: number): Promise<KmsKey> {
    const inserted = await sql.run(
      'INSERT INTO kms_keys (id, sealed_key, created) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING',
      [id, sealedKey, created],
    );
    if (inserted === 0) throw new MetaError('KmsKeyAlreadyExists', `KMS key ${id} already exists`);
    return { id, sealedKey, created };
  }

  async get(sql: Sql, id: string): Promise<KmsKey | null> {
    return (await sql.row<KmsKey>(`${SELECT_KEY} WHERE id = $1`, [id])) ?? null;
  }

  async list(sql: Sql): Promise<KmsKey[]> {
    return sql.rows<KmsKey>(`${SELECT_KEY} ORDER BY id`);
  }

  async delete(sql: Sql, id: string): Promise<void> {
    if ((await sql.run('DELETE FROM kms_keys WHERE id = $1', [id])) === 0)
      throw new MetaError('KMS.NotFoundException', `KMS key ${id} does not exist`);
  }
}
