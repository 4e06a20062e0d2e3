import type { WebsiteConfiguration, WebsiteRedirect } from '../../src/meta/meta-store.js';
import { requireBucket, sendEmpty, sendXml, xmlBody, type Context } from '../context.js';
import { S3Error } from '../errors.js';
import { child, el, malformed, text } from '../xml.js';

/**
 * Put/Get/DeleteBucketWebsite (`?website`): the configuration the website endpoint
 * (`gateway/website/`) serves a bucket by, validated as AWS's PutBucketWebsite and kept in the
 * bucket's settings (so in its encrypted metadata copies, restored by `meta rebuild`).
 */

/** AWS's limit on the routing rules of one configuration. */
const MAX_ROUTING_RULES = 50;
type Protocol = 'http' | 'https';

export async function putBucketWebsite(ctx: Context<'PutBucketWebsite'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  const website = parseWebsite(child(await xmlBody(ctx, ['RoutingRule']), 'WebsiteConfiguration'));
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({ ...settings, website }));
  sendEmpty(ctx);
}

export async function getBucketWebsite(ctx: Context<'GetBucketWebsite'>): Promise<void> {
  const website = (await requireBucket(ctx)).settings.website;
  if (!website) throw noWebsite();
  sendXml(ctx, 'WebsiteConfiguration', websiteXml(website));
}

export async function deleteBucketWebsite(ctx: Context<'DeleteBucketWebsite'>): Promise<void> {
  const bucket = await requireBucket(ctx);
  // AWS answers 204 whether or not the bucket had one (DeleteBucketWebsite is idempotent there).
  await ctx.store.updateBucketSettings(bucket.name, (settings) => ({ ...settings, website: undefined }));
  sendEmpty(ctx, 204);
}

export function noWebsite(): S3Error {
  return new S3Error('NoSuchWebsiteConfiguration', 'The specified bucket does not have a website configuration');
}

function invalid(message: string): S3Error {
  return new S3Error('InvalidArgument', message);
}

/** A `<WebsiteConfiguration>`, with AWS's refusals: MalformedXML for the schema, InvalidArgument for values. */
export function parseWebsite(doc: Record<string, unknown>): WebsiteConfiguration {
  const website: WebsiteConfiguration = {};
  if (doc['RedirectAllRequestsTo'] !== undefined) {
    const redirect = child(doc, 'RedirectAllRequestsTo');
    const hostName = text(redirect, 'HostName');
    if (!hostName) throw malformed();
    website.redirectAll = { hostName, ...protocolOf(redirect) };
    if (['IndexDocument', 'ErrorDocument', 'RoutingRules'].some((name) => doc[name] !== undefined))
      throw invalid('RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.');
    return website;
  }
  if (doc['IndexDocument'] === undefined)
    throw invalid('A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty');
  const suffix = text(child(doc, 'IndexDocument'), 'Suffix');
  if (suffix === undefined) throw malformed();
  if (suffix === '' || suffix.includes('/')) throw invalid('The IndexDocument Suffix is not well formed');
  website.indexSuffix = suffix;
  if (doc['ErrorDocument'] !== undefined) {
    const key = text(child(doc, 'ErrorDocument'), 'Key');
    if (key === undefined) throw malformed();
    if (key === '') throw invalid('The ErrorDocument Key is not well formed');
    website.errorKey = key;
  }
  if (doc['RoutingRules'] !== undefined) {
    const rules = child(doc, 'RoutingRules')['RoutingRule'];
    if (!Array.isArray(rules) || rules.length === 0) throw malformed();
    if (rules.length > MAX_ROUTING_RULES)
      throw invalid(`The number of routing rules must not exceed ${MAX_ROUTING_RULES}.`);
    website.routingRules = rules.map(parseRule);
  }
  return website;
}

function parseRule(value: unknown): NonNullable<WebsiteConfiguration['routingRules']>[number] {
  const rule = child({ rule: value }, 'rule');
  if (rule['Redirect'] === undefined) throw malformed();
  const redirect = parseRedirect(child(rule, 'Redirect'));
  if (rule['Condition'] === undefined) return { redirect };
  const c = child(rule, 'Condition');
  const keyPrefixEquals = text(c, 'KeyPrefixEquals');
  const errorCode = text(c, 'HttpErrorCodeReturnedEquals');
  if (keyPrefixEquals === undefined && errorCode === undefined)
    throw invalid(
      "Condition cannot be empty. To redirect all requests without a condition, the condition element shouldn't be present.",
    );
  const condition: { keyPrefixEquals?: string; httpErrorCodeReturnedEquals?: number } = {};
  if (keyPrefixEquals !== undefined) condition.keyPrefixEquals = keyPrefixEquals;
  if (errorCode !== undefined)
    condition.httpErrorCodeReturnedEquals = statusCodeIn(
      errorCode,
      400,
      599,
      `The provided HTTP error code (${errorCode}) is not valid. Valid codes are 4XX or 5XX.`,
    );
  return { condition, redirect };
}

function parseRedirect(r: Record<string, unknown>): WebsiteRedirect {
  const redirect: WebsiteRedirect = protocolOf(r);
  const hostName = text(r, 'HostName');
  const prefix = text(r, 'ReplaceKeyPrefixWith');
  const key = text(r, 'ReplaceKeyWith');
  const code = text(r, 'HttpRedirectCode');
  if (prefix !== undefined && key !== undefined)
    throw invalid('You can only define ReplaceKeyPrefix or ReplaceKey but not both.');
  if (hostName !== undefined) {
    if (hostName === '') throw invalid('The HostName of a Redirect must not be empty.');
    redirect.hostName = hostName;
  }
  if (prefix !== undefined) redirect.replaceKeyPrefixWith = prefix;
  if (key !== undefined) redirect.replaceKeyWith = key;
  if (code !== undefined)
    redirect.httpRedirectCode = statusCodeIn(
      code,
      301,
      399,
      `The provided HTTP redirect code (${code}) is not valid. Valid codes are 3XX except 300.`,
    );
  if (Object.keys(redirect).length === 0)
    throw invalid(
      'A Redirect must name at least one of Protocol, HostName, ReplaceKeyPrefixWith, ReplaceKeyWith or HttpRedirectCode.',
    );
  return redirect;
}

function protocolOf(parent: Record<string, unknown>): { protocol?: Protocol } {
  const protocol = text(parent, 'Protocol');
  if (protocol === undefined) return {};
  if (protocol !== 'http' && protocol !== 'https')
    throw invalid(
      'Invalid protocol, protocol can be http or https. If not defined the protocol will be selected automatically.',
    );
  return { protocol };
}

/** A three-digit status code from `min` to `max`, else InvalidArgument with `refusal`. */
function statusCodeIn(value: string, min: number, max: number, refusal: string): number {
  const code = /^\d{3}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(code >= min && code <= max)) throw invalid(refusal);
  return code;
}

function websiteXml(w: WebsiteConfiguration): string {
  if (w.redirectAll) {
    const { hostName, protocol } = w.redirectAll;
    return `<RedirectAllRequestsTo>${el('HostName', hostName)}${protocol ? el('Protocol', protocol) : ''}</RedirectAllRequestsTo>`;
  }
  let xml = `<IndexDocument>${el('Suffix', w.indexSuffix ?? '')}</IndexDocument>`;
  if (w.errorKey !== undefined) xml += `<ErrorDocument>${el('Key', w.errorKey)}</ErrorDocument>`;
  if (w.routingRules) {
    const rules = w.routingRules.map(({ condition: c, redirect: r }) => {
      const condition = c
        ? `<Condition>${optional('HttpErrorCodeReturnedEquals', c.httpErrorCodeReturnedEquals)}${optional('KeyPrefixEquals', c.keyPrefixEquals)}</Condition>`
        : '';
      const redirect =
        optional('HostName', r.hostName) +
        optional('HttpRedirectCode', r.httpRedirectCode) +
        optional('Protocol', r.protocol) +
        optional('ReplaceKeyPrefixWith', r.replaceKeyPrefixWith) +
        optional('ReplaceKeyWith', r.replaceKeyWith);
      return `<RoutingRule>${condition}<Redirect>${redirect}</Redirect></RoutingRule>`;
    });
    xml += `<RoutingRules>${rules.join('')}</RoutingRules>`;
  }
  return xml;
}

function optional(name: string, value: string | number | undefined): string {
  return value === undefined ? '' : el(name, value);
}
