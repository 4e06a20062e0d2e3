import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { GatewayInfo, MetaStore } from '../src/meta/meta-store.js';
import { HEARTBEAT_MS } from '../src/repair/leased-job.js';
import { StartupError } from './startup-error.js';

/** The longest QSTOR_GATEWAY_ID taken. */
const MAX_ID_LENGTH = 128;

/** This process's gateway id: QSTOR_GATEWAY_ID, else a new random one per start. */
export function gatewayId(env = process.env): string {
  const given = env.QSTOR_GATEWAY_ID;
  if (given === undefined || given === '') return randomUUID();
  if (given.length > MAX_ID_LENGTH || !/^[\x21-\x7e]+$/.test(given))
    throw new StartupError(
      'INVALID_OPTION',
      `QSTOR_GATEWAY_ID must be 1 to ${MAX_ID_LENGTH} printable characters without spaces`,
    );
  return given;
}

/** The version in package.json (dist/gateway/ sits two levels below it). */
export function qstorVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/**
 * The gateway's heartbeat in the metadata database (`heartbeatGateway`), every HEARTBEAT_MS:
 * the other gateways see it alive (its pending writes are spared by their recovery) and
 * `qstor admin status` lists it. A heartbeat that fails (the database out of reach) is logged
 * and tried again at the next one.
 */
export class Presence {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> = Promise.resolve();

  constructor(
    private readonly meta: Pick<MetaStore, 'heartbeatGateway' | 'forgetGateway'>,
    private info: GatewayInfo,
    private readonly log: (message: string) => void,
  ) {}

  /** One heartbeat now (it throws when the database is out of reach), then one every HEARTBEAT_MS. */
  async start(): Promise<void> {
    await this.meta.heartbeatGateway(this.info);
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
  }

  /** The S3 address, known once the server listens. */
  async moveTo(address: string): Promise<void> {
    this.info = { ...this.info, address };
    await this.beat();
  }

  /** Clean shutdown: no more heartbeats, and the gateway's row goes. */
  async leave(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    await this.meta.forgetGateway(this.info.id);
  }

  private beat(): Promise<void> {
    this.beating = this.beating
      .then(() => this.meta.heartbeatGateway(this.info))
      .catch((e: unknown) => this.log(`heartbeat failed: ${(e as Error).message}`));
    return this.beating;
  }
}
