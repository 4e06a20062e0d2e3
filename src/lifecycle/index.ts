export { LIFECYCLE_ARRAYS, MAX_RULES, parseLifecycle } from './config.js';
export { LifecycleError } from './errors.js';
export { afterDays, currentExpiry, dayOf, DAY_MS, expirationHeader, lifecycleDayMs, matches } from './rules.js';
export { lifecycleStatus } from './status.js';
export { LifecycleWorker, noCounts, type LifecycleWorkerOptions } from './worker.js';
