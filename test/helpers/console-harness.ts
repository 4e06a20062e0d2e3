import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { AdminServer } from '../../gateway/admin-server.js';
import { Console } from '../../gateway/console/index.js';
import { ROOT, startGateway, type GatewayHarness } from './gateway-harness.js';

export interface ConsoleHarness {
  g: GatewayHarness;
  /** http://127.0.0.1:PORT, the admin port with the console. */
  url: string;
  /** Every log line the gateway and the console wrote, at debug level. */
  logs: string[];
  close(): Promise<void>;
}

/**
 * A real gateway over a real store (6 zdbs) and its admin port with the web console, as
 * gateway/main.ts wires them; the UI from dist/console-ui (npm run build).
 */
export async function startConsole(): Promise<ConsoleHarness> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  let admin: AdminServer | null = null;
  const g = await startGateway({ logger, onRequest: (r) => admin?.record(r) });
  const webConsole = new Console({
    store: g.h.store,
    meta: g.h.meta,
    backends: g.h.backends,
    masterKey: g.h.masterKey,
    rootAccessKey: ROOT.accessKeyId,
    rootSecretKey: ROOT.secretAccessKey,
    s3Port: g.port,
    uiDir: path.resolve('dist/console-ui'),
    logger,
    traffic: async () => admin?.traffic() ?? null,
  });
  admin = new AdminServer(g.h.backends, g.h.meta, g.h.store.k + g.h.store.m, webConsole);
  const port = await admin.listen(0, '127.0.0.1');
  return {
    g,
    url: `http://127.0.0.1:${port}`,
    logs,
    async close() {
      await admin.close();
      await g.close();
    },
  };
}
