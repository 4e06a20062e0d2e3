import type { z } from 'zod';
import { parseWith } from '../util/schema.js';
import { AgentError, type AgentErrorCode } from './errors.js';

/**
 * JSON from outside (config files, request bodies) read by its schema (`src/util/schema.ts`).
 * A refusal names the field (`config.disks[1]`, `body.capacity.cores`), so the person fixing it
 * knows where; it is BAD_REQUEST for a body unless `code` says otherwise.
 */
export function check<S extends z.ZodType>(
  schema: S,
  value: unknown,
  root: string,
  code: AgentErrorCode = 'BAD_REQUEST',
): z.output<S> {
  return parseWith(schema, value, root, (message) => new AgentError(code, message));
}
