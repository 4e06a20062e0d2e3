import type { CorsRule } from '../../src/meta/meta-store.js';
import { bucketOf, header, requireBucket, sendEmpty, sendXml, xmlBody, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { child, el, malformed, text } from '../xml.js';

/** The methods a CORS rule may allow, and AWS's limit on rules per bucket. */
const METHODS = ['GET', 'PUT', 'HEAD', 'POST', 'DELETE'];
const MAX_RULES = 100;
const LISTS = ['CORSRule', 'AllowedOrigin', 'AllowedMethod', 'AllowedHeader', 'ExposeHeader'];

export async function putBucketCors(ctx: Context<'PutBucketCors'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  const rules = child(await xmlBody(ctx, LISTS), 'CORSConfiguration')['CORSRule'];
  if (!Array.isArray(rules) || rules.length === 0 || rules.length > MAX_RULES) throw malformed();
  const cors = rules.map(parseRule);
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({ ...settings, cors }));
  sendEmpty(ctx);
}

export async function getBucketCors(ctx: Context<'GetBucketCors'>): Promise<void> {
  const rules = (await requireBucket(ctx)).settings.cors;
  if (!rules?.length) throw new S3Error('NoSuchCORSConfiguration', 'The CORS configuration does not exist');
  sendXml(ctx, 'CORSConfiguration', rules.map(ruleXml).join(''));
}

export async function deleteBucketCors(ctx: Context<'DeleteBucketCors'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({ ...settings, cors: undefined }));
  sendEmpty(ctx, 204);
}

/** OPTIONS: whether a browser may send the cross-origin request it describes. Needs no credentials. */
export async function preflightCors(ctx: Context<'PreflightCors'>): Promise<void> {
  const origin = header(ctx, 'origin');
  const method = header(ctx, 'access-control-request-method');
  if (!origin) throw new S3Error('BadRequest', 'Insufficient information. Origin request header needed.');
  if (!method) throw new S3Error('BadRequest', 'Invalid Access-Control-Request-Method: null');
  const rules = (await ctx.meta.getBucket(bucketOf(ctx)))?.settings.cors;
  if (!rules?.length) throw new S3Error('AccessForbidden', 'CORSResponse: CORS is not enabled for this bucket.');
  const requested = (header(ctx, 'access-control-request-headers') ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  const match = matchRule(rules, origin, method, requested);
  if (!match) {
    throw new S3Error(
      'AccessForbidden',
      "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
    );
  }
  const headers = allowHeaders(match, origin);
  if (requested.length > 0) headers['access-control-allow-headers'] = requested.join(', ');
  sendEmpty(ctx, 200, headers);
}

/**
 * The CORS headers of a browser's actual request (not a preflight), set on the response before
 * the operation runs so that its errors carry them too. Nothing when no rule allows the origin
 * and method.
 */
export async function setCorsHeaders(ctx: Context): Promise<void> {
  const origin = header(ctx, 'origin');
  if (origin === undefined || ctx.route.bucket === null) return;
  const rules = (await ctx.meta.getBucket(ctx.route.bucket))?.settings.cors;
  const match = rules && matchRule(rules, origin, ctx.req.method ?? 'GET', []);
  if (!match) return;
  for (const [name, value] of Object.entries(allowHeaders(match, origin))) ctx.res.setHeader(name, value);
}

interface Match {
  rule: CorsRule;
  /** The rule allows every origin (`*`): the answer names none and allows no credentials. */
  anyOrigin: boolean;
}

/** The first rule (AWS's order) allowing the origin, the method and every requested header. */
function matchRule(rules: CorsRule[], origin: string, method: string, headers: string[]): Match | null {
  for (const rule of rules) {
    const pattern = rule.allowedOrigins.find((o) => wildcard(o, origin));
    if (pattern === undefined || !rule.allowedMethods.includes(method)) continue;
    if (headers.every((h) => (rule.allowedHeaders ?? []).some((p) => wildcard(p.toLowerCase(), h))))
      return { rule, anyOrigin: pattern === '*' };
  }
  return null;
}

/** A pattern with at most one `*`, which matches any run of characters. */
function wildcard(pattern: string, value: string): boolean {
  const star = pattern.indexOf('*');
  if (star < 0) return pattern === value;
  const head = pattern.slice(0, star);
  const tail = pattern.slice(star + 1);
  return value.length >= head.length + tail.length && value.startsWith(head) && value.endsWith(tail);
}

function allowHeaders({ rule, anyOrigin }: Match, origin: string): Record<string, string> {
  const headers: Record<string, string> = {
    'access-control-allow-origin': anyOrigin ? '*' : origin,
    'access-control-allow-methods': rule.allowedMethods.join(', '),
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
  if (!anyOrigin) headers['access-control-allow-credentials'] = 'true';
  if (rule.exposeHeaders?.length) headers['access-control-expose-headers'] = rule.exposeHeaders.join(', ');
  if (rule.maxAgeSeconds !== undefined) headers['access-control-max-age'] = String(rule.maxAgeSeconds);
  return headers;
}

/** One <CORSRule>, validated as AWS does: MalformedXML for structure, InvalidRequest for values. */
function parseRule(value: unknown): CorsRule {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed();
  const r = value as Record<string, unknown>;
  const list = (name: string): string[] => {
    const items = r[name] ?? [];
    if (!Array.isArray(items) || items.some((item) => typeof item !== 'string')) throw malformed();
    return (items as string[]).map((item) => item.trim());
  };
  const rule: CorsRule = { allowedOrigins: list('AllowedOrigin'), allowedMethods: list('AllowedMethod') };
  if (rule.allowedOrigins.length === 0 || rule.allowedMethods.length === 0) throw malformed();
  for (const method of rule.allowedMethods) {
    if (!METHODS.includes(method))
      throw new S3Error(
        'InvalidRequest',
        `Found unsupported HTTP method in CORS config. Unsupported method is ${method}`,
      );
  }
  for (const origin of rule.allowedOrigins) {
    if (origin.split('*').length > 2)
      throw new S3Error('InvalidRequest', `AllowedOrigin "${origin}" can not have more than one wildcard.`);
  }
  const allowedHeaders = list('AllowedHeader');
  for (const name of allowedHeaders) {
    if (name.split('*').length > 2)
      throw new S3Error('InvalidRequest', `AllowedHeader "${name}" can not have more than one wildcard.`);
  }
  if (allowedHeaders.length > 0) rule.allowedHeaders = allowedHeaders;
  const exposeHeaders = list('ExposeHeader');
  if (exposeHeaders.length > 0) rule.exposeHeaders = exposeHeaders;
  const id = text(r, 'ID');
  if (id !== undefined) rule.id = id;
  const maxAge = text(r, 'MaxAgeSeconds')?.trim();
  if (maxAge !== undefined) {
    if (!/^\d+$/.test(maxAge)) throw malformed();
    rule.maxAgeSeconds = Number(maxAge);
  }
  return rule;
}

function ruleXml(rule: CorsRule): string {
  const all = (name: string, items: string[] = []): string => items.map((item) => el(name, item)).join('');
  return (
    '<CORSRule>' +
    (rule.id !== undefined ? el('ID', rule.id) : '') +
    all('AllowedHeader', rule.allowedHeaders) +
    all('AllowedMethod', rule.allowedMethods) +
    all('AllowedOrigin', rule.allowedOrigins) +
    all('ExposeHeader', rule.exposeHeaders) +
    (rule.maxAgeSeconds !== undefined ? el('MaxAgeSeconds', rule.maxAgeSeconds) : '') +
    '</CORSRule>'
  );
}
