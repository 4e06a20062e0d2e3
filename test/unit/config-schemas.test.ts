import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../src/agent/config.js';
import { AgentError } from '../../src/agent/errors.js';
import { parseCreateRequest } from '../../src/agent/namespaces.js';
import { parseNodeReport } from '../../src/agent/report.js';
import { GatewayConfigError, loadGatewayConfig } from '../../src/config/gateway-config.js';
import { parseStoreConfig } from '../../src/config/store-config.js';
import { MAX_DATA_SHARDS, MAX_PARITY_SHARDS } from '../../src/erasure/codec.js';
import { BackendConfigError } from '../../src/placement/config.js';

/** The config files and bodies from outside, read by their zod schemas: what is accepted, and refusals naming the field. */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qstor-schema-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const six = Array.from({ length: 6 }, (_, i) => ({
  id: `b${i}`,
  farm: 'f',
  node: `n${i}`,
  address: `127.0.0.1:${9900 + i}`,
  namespace: 'x',
}));

function gatewayFile(doc: unknown): () => ReturnType<typeof loadGatewayConfig> {
  const file = path.join(tmp, `gw-${Math.random()}.json`);
  fs.writeFileSync(file, JSON.stringify(doc));
  return () => loadGatewayConfig(file);
}

describe('gateway config file', () => {
  it('chooses the metadata engine: a postgres URL from the file or QSTOR_METADATA_URL, sqlite when neither', () => {
    const url = 'postgres://qstor:pw@db.example:5432/qstor';
    const file = (doc: object, mode: number): string => {
      const name = path.join(tmp, `gw-${Math.random()}.json`);
      fs.writeFileSync(name, JSON.stringify({ data: '/d', backends: six, ...doc }), { mode });
      return name;
    };
    expect(loadGatewayConfig(file({}, 0o600), {}).metadata).toBeNull();
    const readable = loadGatewayConfig(file({ metadata: url, metadataPool: { max: 3 } }, 0o644), {});
    expect(readable.metadata).toEqual({ url, poolMax: 3, statementTimeoutMs: 30_000 });
    expect(readable.warnings).toEqual([expect.stringMatching(/holds the metadata database password/)]);
    expect(readable.warnings[0]).not.toContain('pw@');
    expect(loadGatewayConfig(file({ metadata: url }, 0o600), {}).warnings).toEqual([]);
    const fromEnv = loadGatewayConfig(file({}, 0o644), { QSTOR_METADATA_URL: url });
    expect(fromEnv.metadata?.url).toBe(url);
    expect(fromEnv.warnings).toEqual([]);
    const bad = 'mysql://qstor:secret-pw@db/x';
    expect(() => loadGatewayConfig(file({ metadata: bad }, 0o600), {})).toThrow(/metadata: must be a URL postgres:/);
    expect(() => loadGatewayConfig(file({ metadata: bad }, 0o600), {})).not.toThrow(/secret-pw/);
    expect(() => loadGatewayConfig(file({}, 0o600), { QSTOR_METADATA_URL: bad })).toThrow(/QSTOR_METADATA_URL/);
    expect(() => loadGatewayConfig(file({ metadataPool: { max: 0 } }, 0o600), {})).toThrow(GatewayConfigError);
  });

  it('fills the defaults of a minimal file', () => {
    const c = gatewayFile({ data: '/d', backends: six })();
    expect(c).toMatchObject({
      data: '/d',
      listen: '127.0.0.1',
      port: 9000,
      adminPort: null,
      tls: null,
      registry: null,
      idleTimeoutSeconds: null,
      logLevel: null,
    });
    expect(gatewayFile({ data: '/d', backends: six, logLevel: 'debug' })().logLevel).toBe('debug');
    expect(c.website).toEqual({ listen: '127.0.0.1', port: null, domain: null });
    const site = { websitePort: 8080, websiteListen: '0.0.0.0', websiteDomain: 'sites.example' };
    expect(gatewayFile({ data: '/d', backends: six, ...site })().website).toEqual({
      listen: '0.0.0.0',
      port: 8080,
      domain: 'sites.example',
    });
    expect(gatewayFile({ data: '/d', backends: six, websitePort: 70000 })).toThrow(/websitePort/);
    expect(c.store).toMatchObject({ dataShards: 4, parityShards: 2 });
    expect(c.store.backends[0]).toEqual({ id: 'b0', farm: 'f', node: 'n0', address: '127.0.0.1:9900', namespace: 'x' });
  });

  it('fills the registry section and needs no backends with it', () => {
    const c = gatewayFile({ data: '/d', registry: { port: 0 } })();
    expect(c.registry).toEqual({
      listen: '127.0.0.1',
      port: 0,
      downAfterSeconds: 30,
      namespaceBytes: 100 * 2 ** 30,
      graceSeconds: 900,
    });
    expect(c.store.backends).toEqual([]);
  });

  it.each([
    [{ data: '/d', backends: six, prot: 1 }, 'prot: unknown field (expected one of data, listen, port,'],
    [{ data: '/d', backends: [], prot: 1 }, 'prot: unknown field'],
    [{ backends: six }, 'data: missing (must be a non-empty string)'],
    [
      { data: '/d', registry: { namespaceBytes: 5 } },
      `registry.namespaceBytes: must be an integer from ${1 << 20} to ${Number.MAX_SAFE_INTEGER}`,
    ],
    [
      { data: '/d', registry: { downAfterSeconds: 0 } },
      'registry.downAfterSeconds: must be a number from 0.1 to 86400',
    ],
    [
      { data: '/d', backends: six, dataShards: MAX_DATA_SHARDS + 1 },
      `dataShards: must be an integer from 1 to ${MAX_DATA_SHARDS}`,
    ],
    [
      { data: '/d', backends: six, parityShards: MAX_PARITY_SHARDS + 1 },
      `parityShards: must be an integer from 0 to ${MAX_PARITY_SHARDS}`,
    ],
    [{ data: '/d', backends: six.slice(0, 5) }, 'backends: has 5 entries: 4+2 needs at least 6'],
    [{ data: '/d' }, 'backends: missing'],
    [{ data: '/d', backends: [{ ...six[0], address: '127.0.0.1:0' }] }, 'backends[0].address: must be host:port'],
    [{ data: '/d', backends: [six[0], six[0]] }, 'backends[1].id: "b0" is used twice'],
    [{ data: '/d', backends: six, tls: { cert: 'c' } }, 'tls.key: missing'],
    [{ data: '/d', backends: six, port: '9000' }, 'port: must be an integer from 0 to 65535'],
    [{ data: '/d', backends: six, logLevel: 'loud' }, 'logLevel: must be one of'],
    [[], 'must be an object'],
  ])('refuses %j naming the field', (doc, message) => {
    const load = gatewayFile(doc);
    expect(load).toThrow(GatewayConfigError);
    expect(load).toThrow(message);
  });
});

describe('store.json', () => {
  it('accepts what qstor start writes and refuses a geometry beyond the codec', () => {
    expect(parseStoreConfig({ dataShards: 4, parityShards: 2, backends: six }, 'store.json').backends).toHaveLength(6);
    expect(() => parseStoreConfig({ dataShards: 17, parityShards: 2, backends: six }, 'store.json')).toThrow(
      BackendConfigError,
    );
    expect(() => parseStoreConfig({ dataShards: 4, parityShards: 2, backends: [] }, 'store.json')).toThrow(
      'store.json: backends: must be a non-empty array',
    );
  });
});

describe('agent config and request bodies', () => {
  const key = 'ab'.repeat(32);
  const good = {
    registry: 'http://r:9800/',
    farmToken: '3.secret',
    disks: ['d0', 'd1'],
    listenHost: '127.0.0.1',
    listenPort: 9910,
    stateDir: 's',
    stores: [{ key, rights: ['storage', 'storage'] }],
  };

  it('reads a config, paths relative to its directory', () => {
    const c = parseAgentConfig(good, '/etc/qstor');
    expect(c).toMatchObject({
      registry: 'http://r:9800',
      farmId: 3,
      disks: ['/etc/qstor/d0', '/etc/qstor/d1'],
      zdbBasePort: 9900,
      zdbListen: '127.0.0.1',
      heartbeatMs: 10_000,
      identityFile: '/etc/qstor/s/identity.key',
    });
    expect(c.stores.get(key)).toEqual(['storage']);
  });

  it.each([
    [{ ...good, heartbeat: 1 }, 'config.heartbeat: unknown field'],
    [{ ...good, disks: ['a', ''] }, 'config.disks[1]: must be a non-empty string'],
    [{ ...good, disks: [] }, 'config.disks: needs at least one disk'],
    [{ ...good, disks: ['a', './a'] }, 'config.disks: the same path twice'],
    [{ ...good, listenHost: undefined }, 'config.listenHost: name the address the agent API listens on'],
    [{ ...good, farmToken: 'nope' }, 'config.farmToken: must be the farmer token'],
    [{ ...good, stores: [{ key: 'x', rights: ['storage'] }] }, 'config.stores[0].key: must be an ed25519 public key'],
    [{ ...good, stores: [{ key, rights: [] }] }, 'config.stores[0].rights: name at least one of storage, compute'],
    [{ ...good, registry: 'ftp://r' }, 'config.registry: must be an http:// or https:// URL'],
    [{ ...good, zdbBasePort: 65535 }, 'config.zdbBasePort: must be an integer from 1 to 65534'],
  ])('refuses %j naming the field', (doc, message) => {
    expect(() => parseAgentConfig(doc, '/etc')).toThrow(message);
    expect(() => parseAgentConfig(doc, '/etc')).toThrow(expect.objectContaining({ code: 'CONFIG' }));
  });

  it('refuses a bad body as BAD_REQUEST, naming the field', () => {
    expect(parseCreateRequest({ size: 5 })).toEqual({ size: 5, mode: 'user' });
    expect(() => parseCreateRequest({ size: 5, name: 'UPPER' })).toThrow(
      'body.name: lowercase letters, digits, - and _, at most 32',
    );
    const report = { addresses: ['a'], agentUrl: 'http://a', capacity: { cores: 0, memoryBytes: 1, disks: [] } };
    let err: unknown;
    try {
      parseNodeReport(report);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AgentError);
    expect(err).toMatchObject({
      code: 'BAD_REQUEST',
      message: `body.capacity.cores: must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}`,
    });
  });
});
