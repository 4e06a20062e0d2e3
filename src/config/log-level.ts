/** The levels `--log-level` and a config file's `logLevel` take: pino's, quietest last. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'silent'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

/** info: one access-log line per request, the store's maintenance, warnings and errors. */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
