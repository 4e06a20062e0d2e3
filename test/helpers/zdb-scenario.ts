/**
 * Conformance scenarios for zdb servers. A scenario is a command sequence with exact expected
 * replies; it runs against our server always and, when ZDB_REFERENCE_BIN names a 0-db binary,
 * against 0-db too: the same inline expectations must hold there, and the two transcripts (every
 * reply, normalised where a scenario says so) must be equal.
 *
 * Replies are rendered losslessly to strings so expectations read like the wire:
 *   `+OK`  simple string       `-Key not found`  error       `:3`  integer
 *   `nil`  nil bulk / array    `$bar`  bulk (bytes outside printable ASCII as `\xHH`, `\` as `\\`)
 *   arrays as JS arrays of those.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RawClient, RespErrorReply, type Arg, type RespValue } from './raw-resp.js';
import { startZdb, type ZdbProcess } from './zdb-process.js';

export const OURS_BIN = path.resolve('bin/zdb.js');
export const REF_BIN = process.env.ZDB_REFERENCE_BIN || undefined;

export type Kind = 'ours' | 'ref';
export type Rendered = string | Rendered[];

/** Escapes bytes the way expectations write them. */
export function esc(b: Buffer | string): string {
  const buf = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
  let out = '';
  for (const c of buf) {
    if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** Expected bulk reply for some bytes. */
export function $(b: Buffer | string): string {
  return `$${esc(b)}`;
}

export function render(v: RespValue): Rendered {
  if (v === null) return 'nil';
  if (Array.isArray(v)) return v.map(render);
  if (v instanceof RespErrorReply) return `-${v.message}`;
  if (Buffer.isBuffer(v)) return `$${esc(v)}`;
  if (typeof v === 'number') return `:${v}`;
  return `+${v}`;
}

/** Decodes a rendered bulk (`$...`) back to bytes. */
export function unbulk(r: Rendered): Buffer {
  if (typeof r !== 'string' || !r.startsWith('$')) throw new Error(`not a bulk reply: ${JSON.stringify(r)}`);
  const s = r.slice(1);
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') {
      if (s[i + 1] === '\\') {
        out.push(0x5c);
        i++;
      } else {
        out.push(parseInt(s.slice(i + 2, i + 4), 16));
        i += 3;
      }
    } else {
      out.push(s.charCodeAt(i));
    }
  }
  return Buffer.from(out);
}

/** A u64 little-endian seq id. */
export function seqId(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

/** 0-db's 17-byte SCAN cursor. */
export function cursor(keyLength: number, fileId: number, valueLength: number, offset: number, crc: number): Buffer {
  const b = Buffer.alloc(17);
  b.writeUInt8(keyLength, 0);
  b.writeUInt32LE(fileId, 1);
  b.writeUInt32LE(valueLength, 5);
  b.writeUInt32LE(offset, 9);
  b.writeUInt32LE(crc >>> 0, 13);
  return b;
}

/** 0-db's 8-byte HISTORY cursor (index file id, offset). */
export function historyCursor(fileId: number, offset: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(fileId, 0);
  b.writeUInt32LE(offset, 4);
  return b;
}

/** `key: value` lines of INFO / NSINFO. */
export function parseInfo(r: Rendered): Map<string, string> {
  const text = unbulk(r).toString();
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+): (.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

export type Check = Rendered | ((r: Rendered) => void);

export interface StepOptions {
  /** Connection to use (default: the session's first one). */
  on?: RawClient;
  /** What to record in the transcript instead of the reply (normalises run-dependent values). */
  as?: (r: Rendered) => unknown;
  /** Not compared with the reference: a documented difference. */
  differs?: boolean;
  /** Not recorded at all (steps whose count may differ between servers, e.g. SCAN batches). */
  quiet?: boolean;
}

export interface TranscriptStep {
  args: string[];
  reply: unknown;
}

/** One scenario run on one server. */
export class Session {
  readonly transcript: TranscriptStep[] = [];
  private readonly clients: RawClient[] = [];
  private muted = 0;
  c!: RawClient;

  constructor(
    readonly kind: Kind,
    readonly proc: ZdbProcess,
  ) {}

  get ours(): boolean {
    return this.kind === 'ours';
  }

  get ref(): boolean {
    return this.kind === 'ref';
  }

  async client(): Promise<RawClient> {
    const c = await RawClient.connect(this.proc.port, this.proc.host);
    this.clients.push(c);
    return c;
  }

  /** Sends a command, records its reply, asserts it when `check` is given; returns the rendered reply. */
  async x(args: Arg[], check?: Check, opts: StepOptions = {}): Promise<Rendered> {
    const conn = opts.on ?? this.c;
    const reply = render(await conn.cmd(...args));
    this.record(args, reply, opts);
    if (check !== undefined) {
      const where = `${this.kind}: ${args
        .map((a) => esc(a))
        .join(' ')
        .slice(0, 120)}`;
      if (typeof check === 'function') check(reply);
      else expect(reply, where).toEqual(check);
    }
    return reply;
  }

  /** Sends a command and returns a promise of its (rendered, recorded, checked) reply: WAIT. */
  send(args: Arg[], check?: Check, opts: StepOptions = {}): Promise<Rendered> {
    return this.x(args, check, opts);
  }

  /** Runs steps on our server only, without recording them (ours-only behaviour). */
  async onlyOurs(fn: () => Promise<void>): Promise<void> {
    if (!this.ours) return;
    this.muted++;
    try {
      await fn();
    } finally {
      this.muted--;
    }
  }

  record(args: Arg[], reply: unknown, opts: StepOptions = {}): void {
    if (opts.quiet || this.muted > 0) return;
    this.transcript.push({
      args: args.map((a) => esc(a)),
      reply: opts.differs ? '(differs)' : opts.as ? opts.as(reply as Rendered) : reply,
    });
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}

export interface Scenario {
  name: string;
  /** Extra server flags. */
  args?: string[];
  /** Start the server on these directories (disk tests). */
  dirs?: { dataDir: string; indexDir: string };
  run(s: Session): Promise<void>;
}

export function binOf(kind: Kind): string {
  if (kind === 'ours') return OURS_BIN;
  if (!REF_BIN) throw new Error('ZDB_REFERENCE_BIN is not set');
  return REF_BIN;
}

/** Runs a scenario on a fresh server of that kind; returns its transcript. */
export async function runScenario(kind: Kind, sc: Scenario): Promise<TranscriptStep[]> {
  const proc = await startZdb({ bin: binOf(kind), args: sc.args ?? [], ...(sc.dirs ?? {}) });
  const s = new Session(kind, proc);
  try {
    s.c = await s.client();
    await sc.run(s);
    return s.transcript;
  } catch (e) {
    if (e instanceof Error) e.message += `\n--- ${kind} server output ---\n${proc.output().slice(-2000)}`;
    throw e;
  } finally {
    s.close();
    await proc.stop();
  }
}

/**
 * Registers a scenario set: `it` per scenario against ours; when a reference binary is
 * configured, `it` per scenario that runs it on 0-db (same inline expectations) and compares
 * the transcript with ours (the ours run is shared with the first block).
 */
export function defineScenarios(title: string, scenarios: Scenario[]): void {
  const ours = new Map<string, Promise<TranscriptStep[]>>();
  const oursTranscript = (sc: Scenario): Promise<TranscriptStep[]> => {
    let p = ours.get(sc.name);
    if (!p) {
      p = runScenario('ours', sc);
      ours.set(sc.name, p);
    }
    return p;
  };
  describe(`${title} (ours)`, () => {
    for (const sc of scenarios) it(sc.name, async () => void (await oursTranscript(sc)));
  });
  describe.runIf(REF_BIN !== undefined)(`${title} (differential, 0-db reference)`, () => {
    for (const sc of scenarios) {
      it(sc.name, async () => {
        const refT = await runScenario('ref', sc);
        const oursT = await oursTranscript(sc);
        for (let i = 0; i < Math.max(refT.length, oursT.length); i++) {
          const step = refT[i] ?? oursT[i]!;
          expect(refT[i]?.reply, `step ${i}: ${step.args.join(' ').slice(0, 120)}`).toEqual(oursT[i]?.reply);
        }
      });
    }
  });
}
