import fs from 'node:fs';
import path from 'node:path';
import type { ServerResponse } from 'node:http';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** No framing (clickjacking), scripts and styles from this server only. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * The built single-page UI: the files found in `dir` at start are the only ones served (a URL
 * never becomes a path, so nothing outside it is reachable); any other path is the page itself
 * (its router reads the address).
 */
export class StaticFiles {
  private readonly files = new Map<string, string>();

  constructor(private readonly dir: string) {
    if (fs.existsSync(dir))
      for (const f of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }))
        this.files.set('/' + f.split(path.sep).join('/'), path.join(dir, f));
    for (const [url, file] of this.files) if (!fs.statSync(file).isFile()) this.files.delete(url);
  }

  serve(pathname: string, res: ServerResponse): void {
    const file = this.files.get(pathname) ?? this.files.get('/index.html');
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`the console is not built (no ${path.join(this.dir, 'index.html')}): run npm run build:console\n`);
      return;
    }
    const hashed = pathname.startsWith('/assets/');
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      // Vite names assets by their hash: they never change; the page itself always may.
      'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    fs.createReadStream(file).pipe(res);
  }
}
