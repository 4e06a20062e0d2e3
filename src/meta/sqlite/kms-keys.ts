import type Database from 'better-sqlite3';
import { MetaError } from '../errors.js';
import type { KmsKey } from '../meta-store.js';
import { prepare, type Statement } from './statements.js';

/** KMS keys (src/kms), each as the caller sealed it under the master key. */
export class KmsKeys {
  private readonly insert: Statement<[string, Buffer, number]>;
  private readonly byId: Statement<[string], KmsKey>;
  private readonly all: Statement<[], KmsKey>;
  private readonly remove: Statement<[string]>;

  constructor(db: Database.Database) {
    this.insert = prepare(db, 'INSERT INTO kms_keys (id, sealed_key, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
    const select = 'SELECT id, sealed_key AS sealedKey, created FROM kms_keys';
    this.byId = prepare(db, `${select} WHERE id = ?`);
    this.all = prepare(db, `${select} ORDER BY id`);
    this.remove = prepare(db, 'DELETE FROM kms_keys WHERE id = ?');
  }

  create(id: string, sealedKey: Buffer, created: number): KmsKey {
    if (this.insert.run(id, sealedKey, created).changes === 0)
      throw new MetaError('KmsKeyAlreadyExists', `KMS key ${id} already exists`);
    return { id, sealedKey, created };
  }

  get(id: string): KmsKey | null {
    return this.byId.get(id) ?? null;
  }

  list(): KmsKey[] {
    return this.all.all();
  }

  delete(id: string): void {
    if (this.remove.run(id).changes === 0) throw new MetaError('KMS.NotFoundException', `KMS key ${id} does not exist`);
  }
}
