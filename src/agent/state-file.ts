import fs from 'node:fs';
import path from 'node:path';
import { AgentError } from './errors.js';

/** A namespace this agent created, and the store (identity id) it belongs to. */
export interface NamespaceRecord {
  owner: string;
  disk: string;
  size: number;
  mode: 'user' | 'seq';
  locked: boolean;
  created: number;
}

export interface AgentState {
  namespaces: Record<string, NamespaceRecord>;
  /** The last sequence accepted from each store key: replays stay refused across agent restarts. */
  storeSeq: Record<string, number>;
  /** The registry's key, pinned at the first registration (when the config names none): grants are checked against it. */
  registryKey?: string;
}

/**
 * The agent's state as one small 0600 JSON file, replaced atomically (write, fsync, rename):
 * a crash leaves the old or the new state, never half of one. Passwords are not in it: the
 * zdb keeps them, and only the reserving store was told.
 */
export class StateFile {
  readonly state: AgentState;

  constructor(private readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    try {
      const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<AgentState>;
      this.state = { namespaces: raw.namespaces ?? {}, storeSeq: raw.storeSeq ?? {}, registryKey: raw.registryKey };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new AgentError('STATE', `agent state ${file}: ${(err as Error).message}`, { cause: err });
      this.state = { namespaces: {}, storeSeq: {} };
    }
  }

  save(): void {
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(this.state, null, 1));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }
}
