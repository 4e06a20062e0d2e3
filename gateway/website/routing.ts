import type { WebsiteConfiguration, WebsiteRedirect } from '../../src/meta/meta-store.js';

/** What a website request may be redirected by: the configuration's rules, in their order. */
export type RoutingRule = NonNullable<WebsiteConfiguration['routingRules']>[number];

/** A redirect to answer: its status and Location. */
export interface Redirection {
  status: number;
  location: string;
}

/** The request as a redirect rebuilds it: its key, Host and scheme. */
export interface Requested {
  key: string;
  host: string;
  secure: boolean;
}

/**
 * The first rule that applies to a request for `key`, AWS's order: before the object is looked
 * up (`errorStatus` undefined), the rules without an error-code condition; after it failed, the
 * rules naming its status. A rule's key prefix, when given, must match as well.
 */
export function matchingRule(
  rules: readonly RoutingRule[] | undefined,
  key: string,
  errorStatus?: number,
): RoutingRule | undefined {
  return rules?.find(
    ({ condition: c }) =>
      c?.httpErrorCodeReturnedEquals === errorStatus &&
      (c?.keyPrefixEquals === undefined || key.startsWith(c.keyPrefixEquals)),
  );
}

/** Where a routing rule sends the request: its key rewritten, the rule's host and scheme or the request's. */
export function ruleRedirect(rule: RoutingRule, r: Requested): Redirection {
  const redirect: WebsiteRedirect = rule.redirect;
  const prefix = rule.condition?.keyPrefixEquals ?? '';
  const key =
    redirect.replaceKeyWith ??
    (redirect.replaceKeyPrefixWith !== undefined ? redirect.replaceKeyPrefixWith + r.key.slice(prefix.length) : r.key);
  return {
    status: redirect.httpRedirectCode ?? 301,
    location: `${redirect.protocol ?? scheme(r.secure)}://${redirect.hostName ?? r.host}/${encodeKey(key)}`,
  };
}

/** RedirectAllRequestsTo: the same path on another host. */
export function redirectAll(to: NonNullable<WebsiteConfiguration['redirectAll']>, r: Requested): Redirection {
  return { status: 301, location: `${to.protocol ?? scheme(r.secure)}://${to.hostName}/${encodeKey(r.key)}` };
}

function scheme(secure: boolean): 'http' | 'https' {
  return secure ? 'https' : 'http';
}

/** A key as a URL path: each segment percent-encoded, its slashes kept. */
export function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
