import { AgentError, type AgentErrorCode } from './errors.js';

/**
 * Field checks for JSON from outside (config files, request bodies). Each names the field it
 * refuses (`config.disks[1]`, `body.capacity.cores`), so the person fixing it knows where.
 */
export class Fields {
  constructor(private readonly code: AgentErrorCode) {}

  fail(where: string, what: string): never {
    throw new AgentError(this.code, `${where}: ${what}`);
  }

  object(v: unknown, where: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(where, 'must be an object');
    return v as Record<string, unknown>;
  }

  /** Refuses members other than `allowed`: a misspelt optional field must not be silently ignored. */
  only(o: Record<string, unknown>, where: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.fail(`${where}.${k}`, `unknown field (expected one of ${allowed.join(', ')})`);
  }

  string(v: unknown, where: string): string {
    if (typeof v !== 'string' || v === '') this.fail(where, 'must be a non-empty string');
    return v;
  }

  int(v: unknown, where: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) this.fail(where, `must be an integer from ${min} to ${max}`);
    return v as number;
  }

  number(v: unknown, where: string, min: number): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) this.fail(where, `must be a number >= ${min}`);
    return v;
  }

  boolean(v: unknown, where: string): boolean {
    if (typeof v !== 'boolean') this.fail(where, 'must be true or false');
    return v;
  }

  array<T>(v: unknown, where: string, item: (x: unknown, where: string) => T, maxItems = 1024): T[] {
    if (!Array.isArray(v)) this.fail(where, 'must be an array');
    if (v.length > maxItems) this.fail(where, `at most ${maxItems} items`);
    return v.map((x, i) => item(x, `${where}[${i}]`));
  }

  oneOf<T extends string>(v: unknown, where: string, values: readonly T[]): T {
    if (typeof v !== 'string' || !values.includes(v as T)) this.fail(where, `must be one of ${values.join(', ')}`);
    return v as T;
  }

  url(v: unknown, where: string): string {
    const s = this.string(v, where);
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      this.fail(where, `not a URL: ${s}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') this.fail(where, 'must be an http:// or https:// URL');
    return s.replace(/\/+$/, '');
  }
}

/** Checks of request bodies: a refusal is BAD_REQUEST. */
export const body = new Fields('BAD_REQUEST');
