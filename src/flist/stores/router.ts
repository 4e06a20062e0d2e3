import { FlistError } from '../errors.js';
import type { Route } from '../schema.js';
import type { BlockStore } from './store.js';

export interface RoutedStore {
  start: number;
  end: number;
  store: BlockStore;
}

export interface WriteOutcome {
  /** Stores that received the block. */
  written: number;
  /** Stores that already had it (EXISTS before SET: convergent dedup). */
  present: number;
}

/**
 * Blocks routed by the first byte of their id: every route whose [start, end] holds it.
 * Overlapping routes replicate on write; a read tries each matching store until one gives
 * bytes that `accept` takes (so a corrupt copy on one store falls back to the next).
 */
export class Router {
  constructor(private readonly routes: RoutedStore[]) {
    if (routes.length === 0) throw new FlistError('BAD_URL', 'no store given');
  }

  /** The routes as an flist records them, with each store's own URL mapped through `urlOf`. */
  describe(urlOf: (url: string) => string = (u) => u): Route[] {
    return this.routes.map((r) => ({ start: r.start, end: r.end, url: urlOf(r.store.url) }));
  }

  async set(id: Buffer, data: Buffer): Promise<WriteOutcome> {
    const outcomes = await Promise.all(
      this.matching(id).map(async (store) => {
        if (await store.exists(id)) return false;
        await store.set(id, data);
        return true;
      }),
    );
    const written = outcomes.filter(Boolean).length;
    return { written, present: outcomes.length - written };
  }

  async get<T>(id: Buffer, accept: (data: Buffer) => T | Promise<T>): Promise<T> {
    const errors: Error[] = [];
    for (const store of this.matching(id)) {
      try {
        return await accept(await store.get(id));
      } catch (err) {
        errors.push(err as Error);
      }
    }
    // Corruption beats absence beats store errors in what the caller is told.
    const worst = (['CORRUPT', 'NOT_FOUND'] as const).find((code) =>
      errors.some((e) => e instanceof FlistError && e.code === code),
    );
    throw new FlistError(worst ?? 'STORE', `block ${id.toString('hex')}: ${errors.map((e) => e.message).join('; ')}`);
  }

  async close(): Promise<void> {
    await Promise.all(this.routes.map((r) => r.store.close()));
  }

  private matching(id: Buffer): BlockStore[] {
    const first = id[0]!;
    const stores = this.routes.filter((r) => first >= r.start && first <= r.end).map((r) => r.store);
    if (stores.length === 0) throw new FlistError('NOT_ROUTABLE', `no route for block ${id.toString('hex')}`);
    return stores;
  }
}
