import type { MetaStore } from '../../src/meta/meta-store.js';

/**
 * A MetaStore that forwards every call to the real one it is given, and runs an action once
 * after the next getObject returns: a test may act between a write's early look at a key and
 * its commit (the real store underneath does all the work).
 */
export function interposedMeta(): {
  meta: MetaStore;
  use(real: MetaStore): void;
  afterNextLookup(act: () => Promise<unknown>): void;
  /** Whether the action set last has run. */
  ran(): boolean;
} {
  let real: MetaStore | undefined;
  let afterLookup: (() => Promise<unknown>) | undefined;
  const meta = new Proxy({} as MetaStore, {
    get(_, prop) {
      if (prop === 'getObject') {
        return async (bucket: string, key: string) => {
          const found = await real!.getObject(bucket, key);
          const act = afterLookup;
          afterLookup = undefined;
          await act?.();
          return found;
        };
      }
      const value: unknown = Reflect.get(real!, prop, real);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(real) : value;
    },
  });
  return {
    meta,
    use: (store) => void (real = store),
    afterNextLookup: (act) => void (afterLookup = act),
    ran: () => afterLookup === undefined,
  };
}
