import { pino, type Logger } from 'pino';

/** Secrets by every name they go by: never written to a log line, whatever a caller passes. */
const REDACT = [
  'password',
  'farmToken',
  'farmerToken',
  'adminToken',
  'token',
  '*.password',
  '*.farmToken',
  '*.farmerToken',
  '*.token',
];

/** JSON lines on stderr, for `qstor agent` and `qstor registry`. */
export function serviceLogger(name: string): Logger {
  return pino({ name, redact: REDACT }, pino.destination(2));
}
