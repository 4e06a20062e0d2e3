import { createHash } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { S3Error } from './errors.js';

export const XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n';
const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** Request bodies (DeleteObjects, CompleteMultipartUpload, ...) are small documents: S3's limit. */
export const MAX_XML_BODY = 1024 * 1024;
/** S3's documents nest a few levels (CORSConfiguration/CORSRule/AllowedMethod); deeper is refused. */
export const MAX_XML_DEPTH = 32;

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#13;',
};

/** Text safe inside an element or attribute. CR is a character reference so parsers keep it. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"'\r]/g, (c) => ESCAPES[c]!);
}

/** `<name>text</name>`, the text escaped. Built by hand: listings are the hot path. */
export function el(name: string, text: string | number | boolean): string {
  return `<${name}>${typeof text === 'string' ? escapeXml(text) : String(text)}</${name}>`;
}

/** A response document: the declaration and the root element in S3's namespace. */
export function xmlDocument(root: string, inner: string): string {
  return `${XML_HEADER}<${root} xmlns="${NS}">${inner}</${root}>`;
}

/** S3's timestamp format in listings and results. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** An error response body: S3's `<Error>` document (not in the namespace, as AWS sends it). */
export function errorXml(error: S3Error, resource: string, requestId: string): string {
  return (
    `${XML_HEADER}<Error><Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message>` +
    Object.entries(error.details)
      .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
      .join('') +
    `<Resource>${escapeXml(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`
  );
}

/**
 * Reads and parses an XML request body of at most `limit` bytes. Element values stay strings,
 * untrimmed (keys may start or end with spaces); elements named in `arrays` are always arrays.
 * `md5` is the Content-MD5 (base64) the body must have.
 */
export async function readXml(
  body: AsyncIterable<Uint8Array>,
  arrays: readonly string[] = [],
  md5?: string,
  limit = MAX_XML_BODY,
): Promise<Record<string, unknown>> {
  const text = await readSmallBody(body, md5, limit);
  if (text.trim() === '' || hasDeclaration(text)) throw malformed();
  const parser = new XMLParser({
    ignoreAttributes: true,
    ignoreDeclaration: true,
    removeNSPrefix: true,
    parseTagValue: false,
    trimValues: false,
    htmlEntities: true, // numeric character references (&#13;) appear in keys
    maxNestedTags: MAX_XML_DEPTH,
    isArray: (name) => arrays.includes(name),
  });
  try {
    if (XMLValidator.validate(text) === true) return parser.parse(text) as Record<string, unknown>;
  } catch {
    // The parser refuses what is well-formed but past its limits (nesting past MAX_XML_DEPTH).
  }
  throw malformed();
}

/**
 * Whether the text has a markup declaration (`<!DOCTYPE`, `<!ENTITY`, ...) outside comments and
 * CDATA. S3's documents have none, and a DTD is how entities would be defined and expanded.
 * The validator accepts one anywhere, even inside an element, so the whole text is scanned (in
 * one pass: each comment or CDATA section is skipped with one search).
 */
function hasDeclaration(text: string): boolean {
  for (let i = text.indexOf('<!'); i >= 0; i = text.indexOf('<!', i)) {
    const close = text.startsWith('<!--', i) ? '-->' : text.startsWith('<![CDATA[', i) ? ']]>' : null;
    if (close === null) return true;
    const end = text.indexOf(close, i + 4);
    if (end < 0) return true; // unterminated: not well-formed either
    i = end + close.length;
  }
  return false;
}

/** The element `name` of a parsed document when it is an object, else MalformedXML. */
export function child(parent: unknown, name: string): Record<string, unknown> {
  const value = (parent as Record<string, unknown> | undefined)?.[name];
  if (value === '') return {}; // an empty element
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed();
  return value as Record<string, unknown>;
}

/** The text of element `name`, or undefined when absent; MalformedXML when not text. */
export function text(parent: Record<string, unknown>, name: string): string | undefined {
  const value = parent[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    // An empty element parses as ''; anything structured is not what the schema allows.
    throw malformed();
  }
  return value;
}

export function malformed(): S3Error {
  return new S3Error(
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema.',
  );
}

/** A small request body (an XML or JSON document) as text, its Content-MD5 (when sent) checked. */
export async function readSmallBody(
  body: AsyncIterable<Uint8Array>,
  md5?: string,
  limit = MAX_XML_BODY,
): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of body) {
    size += part.length;
    if (size > limit) throw new S3Error('MaxMessageLengthExceeded', 'Your request was too big.');
    parts.push(Buffer.from(part));
  }
  const bytes = Buffer.concat(parts);
  if (md5 !== undefined && createHash('md5').update(bytes).digest('base64') !== md5) {
    throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  return bytes.toString('utf8');
}
