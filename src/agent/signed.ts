import crypto from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { AgentError } from './errors.js';
import { publicKeyOf, type Identity } from './identity.js';

/**
 * A signed message, as sent over HTTP: the body plus who signed it (`signer`, an identity id),
 * for whom (`audience`: the registry, or one agent's node id), for what (`kind`, the
 * operation), when (`ts`, ms since the epoch) and a per-signer sequence (`seq`) that only
 * grows. `sig` is ed25519 over the canonical JSON of everything else, so no field can be
 * changed, and a message cannot be replayed to another audience, for another operation, later
 * than the window, or twice.
 */
export interface SignedEnvelope<B = unknown> {
  signer: string;
  audience: string;
  kind: string;
  ts: number;
  seq: number;
  body: B;
  /** base64 ed25519 signature. */
  sig: string;
}

/** The audience of messages for the registry (agents sign for this, not for a URL, which proxies rewrite). */
export const REGISTRY_AUDIENCE = 'qstor-registry';

/** How far a message's timestamp may be from the verifier's clock. */
export const DEFAULT_WINDOW_MS = 5 * 60_000;

function signedBytes(e: Omit<SignedEnvelope, 'sig'>): Buffer {
  return Buffer.from(
    canonicalJson({ signer: e.signer, audience: e.audience, kind: e.kind, ts: e.ts, seq: e.seq, body: e.body }),
  );
}

/** Signs messages with one identity; sequences are microseconds, so they keep growing across restarts. */
export class Signer {
  private lastSeq = 0;

  constructor(readonly identity: Identity) {}

  get id(): string {
    return this.identity.id;
  }

  sign<B>(kind: string, audience: string, body: B, now = Date.now()): SignedEnvelope<B> {
    this.lastSeq = Math.max(now * 1000, this.lastSeq + 1);
    const unsigned = { signer: this.identity.id, audience, kind, ts: now, seq: this.lastSeq, body };
    const sig = crypto.sign(null, signedBytes(unsigned), this.identity.privateKey).toString('base64');
    return { ...unsigned, sig };
  }
}

export interface Expectation {
  kind: string;
  audience: string;
  /** The last sequence accepted from this signer, if any: the message must be above it. */
  lastSeq?: number;
  now?: number;
  windowMs?: number;
}

export interface Verified {
  signer: string;
  seq: number;
  ts: number;
  body: unknown;
}

/**
 * Checks an envelope as received (parsed JSON of unknown shape): signature first, then
 * audience and kind, then freshness. The caller records `seq` as the signer's last sequence
 * once it acts on the message (in the same transaction, where it has one).
 */
export function verifySigned(input: unknown, expect: Expectation): Verified {
  const e = envelopeShape(input);
  let ok: boolean;
  try {
    ok = crypto.verify(null, signedBytes(e), publicKeyOf(e.signer), Buffer.from(e.sig, 'base64'));
  } catch (err) {
    if (err instanceof AgentError) throw err;
    ok = false;
  }
  if (!ok) throw new AgentError('BAD_SIGNATURE', 'the signature does not verify with the signer key');
  if (e.audience !== expect.audience)
    throw new AgentError('WRONG_AUDIENCE', `message signed for ${e.audience}, not for ${expect.audience}`);
  if (e.kind !== expect.kind)
    throw new AgentError('WRONG_AUDIENCE', `message signed for "${e.kind}", not for "${expect.kind}"`);
  const now = expect.now ?? Date.now();
  const window = expect.windowMs ?? DEFAULT_WINDOW_MS;
  if (Math.abs(now - e.ts) > window)
    throw new AgentError(
      'REPLAY',
      `message timestamp is ${Math.round((now - e.ts) / 1000)} s away from now (window ${window / 1000} s)`,
    );
  if (expect.lastSeq !== undefined && e.seq <= expect.lastSeq)
    throw new AgentError('REPLAY', `sequence ${e.seq} is not above the last accepted one (${expect.lastSeq})`);
  return { signer: e.signer, seq: e.seq, ts: e.ts, body: e.body };
}

function envelopeShape(v: unknown): SignedEnvelope {
  if (typeof v !== 'object' || v === null) throw new AgentError('BAD_REQUEST', 'expected a signed JSON envelope');
  const o = v as Record<string, unknown>;
  for (const k of ['signer', 'audience', 'kind', 'sig'] as const) {
    if (typeof o[k] !== 'string') throw new AgentError('BAD_REQUEST', `signed envelope: "${k}" must be a string`);
  }
  for (const k of ['ts', 'seq'] as const) {
    if (!Number.isSafeInteger(o[k]) || (o[k] as number) < 0)
      throw new AgentError('BAD_REQUEST', `signed envelope: "${k}" must be a non-negative integer`);
  }
  if (!('body' in o)) throw new AgentError('BAD_REQUEST', 'signed envelope: "body" is missing');
  return o as unknown as SignedEnvelope;
}
