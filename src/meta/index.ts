export * from './meta-store.js';
export { MetaError, MetaUnavailableError, type MetaErrorCode } from './errors.js';
export { SqliteMetaStore, type SqliteMetaStoreOptions } from './sqlite/sqlite-meta-store.js';
