import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Credentials, Identity } from '../auth/credentials.js';
import { ConsoleError, readJson, sendJson, stringField, type Exchange } from './http.js';

/** A logged-in key. The secret is checked at login and never kept. */
export interface Session {
  identity: Identity;
  /** Sent back in the x-csrf-token header of every state-changing call. */
  csrf: string;
  expires: number;
}

export const COOKIE = 'qstor_session';
/** A session unused for this long ends; each use extends it, up to MAX_AGE_MS after login. */
const IDLE_MS = 30 * 60_000;
const MAX_AGE_MS = 12 * 3600_000;
const MAX_SESSIONS = 10_000;

/** Failed logins allowed per client address per window; then 429 until the window ends. */
const MAX_FAILURES = 10;
const FAILURE_WINDOW_MS = 60_000;

/**
 * Counts failed logins by client address: a generated secret cannot be guessed, but a root
 * secret chosen by hand (QSTOR_ROOT_SECRET_KEY) might, and each guess is one cheap request.
 */
class LoginThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>();

  check(address: string, now: number): void {
    const f = this.failures.get(address);
    if (f && now - f.since < FAILURE_WINDOW_MS && f.count >= MAX_FAILURES) {
      throw new ConsoleError(
        'TooManyAttempts',
        `too many failed logins from this address; try again in ${Math.ceil((f.since + FAILURE_WINDOW_MS - now) / 1000)} s`,
      );
    }
  }

  failed(address: string, now: number): void {
    const f = this.failures.get(address);
    if (f && now - f.since < FAILURE_WINDOW_MS) f.count++;
    else this.failures.set(address, { count: 1, since: now });
    // Bounded: old windows go as new ones come.
    if (this.failures.size > MAX_SESSIONS)
      for (const [a, x] of this.failures) if (now - x.since >= FAILURE_WINDOW_MS) this.failures.delete(a);
  }
}

/** Server-side sessions: a random id in an HttpOnly SameSite=Strict cookie maps to a key id. */
export class Sessions {
  private readonly byId = new Map<string, Session & { loggedIn: number }>();
  private readonly throttle = new LoginThrottle();

  constructor(
    private readonly credentials: Credentials,
    private readonly now: () => number = Date.now,
  ) {}

  /** Checks the secret (constant time); a new session on success. */
  async login(accessKeyId: string, secret: string, address: string): Promise<{ id: string; session: Session }> {
    this.throttle.check(address, this.now());
    const key = await this.credentials.lookup(accessKeyId);
    // Hashes of equal length, so that the comparison takes the same time whatever the lengths.
    const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
    const matches = key !== null && timingSafeEqual(digest(key.secret), digest(secret));
    if (!matches) {
      this.throttle.failed(address, this.now());
      throw new ConsoleError('InvalidCredentials', 'the access key id or the secret is wrong');
    }
    this.sweep();
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    const session = {
      identity: { accessKeyId: key.accessKeyId, root: key.root },
      csrf: randomBytes(24).toString('base64url'),
      expires: now + IDLE_MS,
      loggedIn: now,
    };
    this.byId.set(id, session);
    return { id, session };
  }

  logout(id: string): void {
    this.byId.delete(id);
  }

  /** The live session of a request's cookie (its idle deadline extended); 401 without one. */
  async require(req: IncomingMessage): Promise<{ id: string; session: Session }> {
    const id = cookie(req, COOKIE);
    const session = id === undefined ? undefined : this.byId.get(id);
    const now = this.now();
    if (id === undefined || session === undefined || session.expires < now) {
      if (id !== undefined) this.byId.delete(id);
      throw new ConsoleError('Unauthenticated', 'log in first (no session, or it expired)');
    }
    // A key deleted since login ends its sessions.
    if (!(await this.credentials.lookup(session.identity.accessKeyId))) {
      this.byId.delete(id);
      throw new ConsoleError('Unauthenticated', 'this access key no longer exists');
    }
    session.expires = Math.min(now + IDLE_MS, session.loggedIn + MAX_AGE_MS);
    return { id, session };
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.byId) if (s.expires < now) this.byId.delete(id);
    // Logins beyond the cap push out the oldest sessions, so memory stays bounded.
    for (const id of this.byId.keys()) {
      if (this.byId.size < MAX_SESSIONS) break;
      this.byId.delete(id);
    }
  }
}

/** A state-changing call must carry the session's CSRF token; a constant-time comparison. */
export function checkCsrf(req: IncomingMessage, session: Session): void {
  const sent = req.headers['x-csrf-token'];
  const a = Buffer.from(typeof sent === 'string' ? sent : '');
  const b = Buffer.from(session.csrf);
  if (a.length !== b.length || !timingSafeEqual(a, b))
    throw new ConsoleError('InvalidCsrfToken', 'missing or wrong x-csrf-token header');
}

/** A browser names the page that sent a request in Origin: it must be this server. */
export function checkOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin === undefined) return; // not a browser's cross-site request (curl, tests)
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new ConsoleError('BadOrigin', 'the Origin header is not a URL');
  }
  if (host !== req.headers.host) throw new ConsoleError('BadOrigin', `requests from ${origin} are refused`);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function sessionCookie(id: string, maxAgeSeconds: number): string {
  return `${COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}`;
}

export function view(session: Session): { accessKeyId: string; root: boolean; csrf: string } {
  return { accessKeyId: session.identity.accessKeyId, root: session.identity.root, csrf: session.csrf };
}

/** POST /api/session {accessKeyId, secretAccessKey}: sets the cookie, answers the CSRF token. */
export async function login(x: Exchange, sessions: Sessions): Promise<void> {
  checkOrigin(x.req);
  const body = await readJson(x.req);
  const { id, session } = await sessions.login(
    stringField(body, 'accessKeyId'),
    stringField(body, 'secretAccessKey'),
    x.req.socket.remoteAddress ?? '',
  );
  sendJson(x.res, 200, view(session), { 'set-cookie': sessionCookie(id, MAX_AGE_MS / 1000) });
}

/** DELETE /api/session. */
export function logout(x: Exchange, sessions: Sessions, id: string): void {
  sessions.logout(id);
  sendJson(x.res, 200, {}, { 'set-cookie': sessionCookie('', 0) });
}
