import { z } from 'zod';

/**
 * The building blocks of every schema of a file or a body from outside (config files, agent and
 * registry requests), on zod. Each field has one message for every way it can be wrong (wrong
 * type, out of range), and `problem` names the field's path (`registry.port`,
 * `config.disks[1]`), so the person fixing it knows where and what.
 */

/** The message of a field's type and range checks; a missing field says so (or says `missing`). */
function says(what: string, missing = `missing (${what})`): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => (issue.input === undefined ? missing : what) };
}

/** A non-empty string; `missing`: what to say when it is left out, if more than that it must be there. */
export function text(o: { missing?: string } = {}): z.ZodString {
  const m = says('must be a non-empty string', o.missing);
  return z.string(m).min(1, m);
}

export function int(min = 0, max = Number.MAX_SAFE_INTEGER): z.ZodNumber {
  const m = says(`must be an integer from ${min} to ${max}`);
  return z.number(m).int(m).min(min, m).max(max, m);
}

export function num(min: number, max = Number.MAX_VALUE): z.ZodNumber {
  const m = says(max === Number.MAX_VALUE ? `must be a number >= ${min}` : `must be a number from ${min} to ${max}`);
  return z.number(m).min(min, m).max(max, m);
}

export function bool(): z.ZodBoolean {
  return z.boolean(says('must be true or false'));
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T): z.ZodEnum<{ [K in T[number]]: K }> {
  return z.enum(values, says(`must be one of ${values.join(', ')}`));
}

export function list<T extends z.ZodType>(item: T, maxItems = 1024): z.ZodArray<T> {
  return z.array(item, says('must be an array')).max(maxItems, `at most ${maxItems} items`);
}

/** An http(s) URL; its trailing slashes dropped. */
export function httpUrl(): z.ZodPipe<z.ZodString, z.ZodTransform<string, string>> {
  return text().transform((s, ctx) => {
    let u: URL | undefined;
    try {
      u = new URL(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: `not a URL: ${s}` });
      return z.NEVER;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
    return s.replace(/\/+$/, '');
  });
}

/** An object of exactly these fields: a misspelt optional field must not be silently ignored. */
export function fields<S extends z.ZodRawShape>(shape: S): z.ZodObject<S, z.core.$strict> {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown field (expected one of ${known})` : 'must be an object',
  });
}

/** An object with at least these fields (others are dropped): bodies that carry more than one reader's part. */
export function record<S extends z.ZodRawShape>(shape: S): z.ZodObject<S, z.core.$strip> {
  return z.object(shape, { error: 'must be an object' });
}

/** `root` then the path: `config` + [disks, 1] is `config.disks[1]`. */
export function fieldPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (at, p) => (typeof p === 'number' ? `${at}[${p}]` : at === '' ? String(p) : `${at}.${String(p)}`),
    root,
  );
}

/**
 * The first problem of a failed parse, as `path: what` (an unknown field is named in the path).
 * An unknown field comes first: it is likely the misspelling of a field reported missing.
 */
export function problem(error: z.ZodError, root = ''): string {
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  const at = fieldPath(root, path);
  return at === '' ? issue.message : `${at}: ${issue.message}`;
}

/** `value` as `schema` reads it, or `fail` called with the first problem. */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  root: string,
  fail: (message: string) => Error,
): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw fail(problem(r.error, root));
  return r.data;
}
