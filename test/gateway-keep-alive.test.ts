/**
 * Idle keep-alive connections outlive Node's 5 s default: a client or a load balancer that
 * reuses a connection idle for longer must find it open, not race its close ("socket hang up").
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { gatewayForSuite, signHeaders, type GatewaySuite } from './helpers/gateway-harness.js';

let t: GatewaySuite;
gatewayForSuite({ buckets: ['kept'] }, (s) => (t = s));

/** A signed ListBuckets through `agent`; the socket it went out on, and whether it was reused. */
async function listBuckets(agent: http.Agent): Promise<{ status: number; socket: Socket; reused: boolean }> {
  const headers = await signHeaders(t.g.port, { method: 'GET', path: '/' });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: t.g.port, method: 'GET', path: '/', headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, socket: req.socket!, reused: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('keep-alive', () => {
  it('a connection idle for 7 s is still open and serves the next request', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await listBuckets(agent);
      expect(first.status).toBe(200);
      let closed = false;
      first.socket.once('close', () => (closed = true));
      await new Promise((r) => setTimeout(r, 7_000));
      expect(closed).toBe(false);
      const second = await listBuckets(agent);
      expect(second.status).toBe(200);
      expect(second.reused).toBe(true);
      expect(second.socket).toBe(first.socket);
    } finally {
      agent.destroy();
    }
  }, 30_000);
});
