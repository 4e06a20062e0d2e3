import { S3Error } from '../errors.js';

/**
 * The bucket a website request is for, from its Host header, as Garage names sites: with a
 * website domain configured, `<bucket>.<domain>` is that bucket; any other host (a domain of the
 * site's own, CNAMEd to the endpoint) is the bucket of that very name (`www.example.com`). The
 * port and letter case do not count.
 */
export function siteBucket(host: string | undefined, domain: string | undefined): string {
  const name = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  if (name === '') throw new S3Error('InvalidRequest', 'A Host header naming the website is required.');
  const root = domain?.toLowerCase();
  if (root !== undefined && name.endsWith(`.${root}`)) return name.slice(0, -root.length - 1);
  return name;
}
