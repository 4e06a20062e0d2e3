/**
 * AEAD candidates for chunk data on this machine: seal and open of 4 MiB buffers, single core
 * (the calling thread), MB of plaintext (10^6 bytes) per second of wall time and per CPU-second
 * of this process (the figure that holds on a loaded shared machine: time the thread spends
 * waiting for a core is not counted). Samples of the candidates alternate so that load from
 * elsewhere hits them alike; medians are reported.
 *
 *   node dist/bench/aead.js [--json FILE] [--samples N]
 *
 * Candidates: node:crypto aes-256-gcm and chacha20-poly1305 (Node's bundled OpenSSL),
 * WebCrypto AES-GCM (same OpenSSL, other call path), sodium-native (libsodium)
 * XChaCha20-Poly1305 and, when the CPU has AES-NI + PCLMUL, its AES-256-GCM, and the system's
 * libcrypto AES-256-GCM through koffi (the store's choice, `src/util/aes-gcm.ts`).
 *
 * node:crypto and WebCrypto return every output in fresh memory; libsodium writes into the
 * caller's. With glibc's defaults a freed 4 MiB buffer goes back to the kernel, so each fresh
 * one is page-faulted in again, which on the shared VMs this was written on costs more than
 * the cipher (~2.5 ms per MiB): node's aes-256-gcm measures ~200-270 MB/CPU-s there, and
 * 2,000-3,200 when glibc keeps freed memory (MALLOC_MMAP_THRESHOLD_=33554432
 * MALLOC_TRIM_THRESHOLD_=268435456 in the environment). Those two variables are printed.
 */
import { createCipheriv, createDecipheriv, randomBytes, webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import sodium from 'sodium-native';
import { libcryptoAesGcm } from '../src/util/aes-gcm.js';
import { fmt, median, printTable } from './common.js';

const SIZE = 4 << 20;
const MIN_SAMPLE_MS = 100;
const key = randomBytes(32);
const aad = Buffer.from('bench object id\0\0\0\x01');
const plain = randomBytes(SIZE);

interface Candidate {
  name: string;
  seal: () => unknown;
  open: () => unknown;
}

function nodeCipher(name: string, algorithm: 'aes-256-gcm' | 'chacha20-poly1305'): Candidate {
  const nonce = randomBytes(12);
  const options = { authTagLength: 16 };
  // The typings' overloads take one algorithm type at a time, hence the two branches.
  const cipher = () =>
    algorithm === 'aes-256-gcm'
      ? createCipheriv(algorithm, key, nonce, options)
      : createCipheriv(algorithm, key, nonce, options);
  const decipher = () =>
    algorithm === 'aes-256-gcm'
      ? createDecipheriv(algorithm, key, nonce, options)
      : createDecipheriv(algorithm, key, nonce, options);
  const seal = (): Buffer => {
    const c = cipher();
    c.setAAD(aad);
    const out = c.update(plain);
    c.final();
    return Buffer.concat([out, c.getAuthTag()]);
  };
  const sealed = seal();
  const open = (): Buffer => {
    const d = decipher();
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(SIZE));
    const out = d.update(sealed.subarray(0, SIZE));
    d.final();
    return out;
  };
  return { name, seal, open };
}

async function webCryptoAesGcm(): Promise<Candidate> {
  const k = await webcrypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']);
  const params = { name: 'AES-GCM', iv: randomBytes(12), additionalData: aad };
  const sealed = await webcrypto.subtle.encrypt(params, k, plain);
  return {
    name: 'WebCrypto AES-GCM',
    seal: () => webcrypto.subtle.encrypt(params, k, plain),
    open: () => webcrypto.subtle.decrypt(params, k, sealed),
  };
}

/** libsodium writes into the caller's buffer: no copy after the cipher. */
function sodiumXChaCha(): Candidate {
  const nonce = randomBytes(sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const sealed = Buffer.allocUnsafe(SIZE + sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES);
  const opened = Buffer.allocUnsafe(SIZE);
  const seal = (): number => sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(sealed, plain, aad, null, nonce, key);
  seal();
  return {
    name: 'sodium-native XChaCha20-Poly1305',
    seal,
    open: () => sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(opened, null, sealed, aad, nonce, key),
  };
}

/** Present in libsodium only on CPUs with AES-NI and PCLMUL; sodium-native 5 does not bind it. */
function sodiumAesGcm(): Candidate | string {
  const api = sodium as unknown as Record<string, unknown>;
  if (typeof api.crypto_aead_aes256gcm_is_available !== 'function') return 'not bound by sodium-native';
  if (!(api.crypto_aead_aes256gcm_is_available as () => boolean)()) return 'not available on this CPU';
  return 'available but not measured';
}

/** The system's libcrypto through koffi (`src/util/aes-gcm.ts`, what the store uses): into the caller's buffer. */
function libcrypto(): Candidate | null {
  const impl = libcryptoAesGcm();
  if (!impl) return null;
  const nonce = randomBytes(12);
  const sealed = Buffer.allocUnsafe(SIZE + 16);
  const opened = Buffer.allocUnsafe(SIZE);
  const seal = (): void => impl.seal(key, nonce, aad, plain, sealed);
  seal();
  return {
    name: 'libcrypto aes-256-gcm (koffi)',
    seal,
    open: () => {
      if (!impl.open(key, nonce, aad, sealed, opened)) throw new Error('libcrypto open failed');
    },
  };
}

interface Sample {
  wall: number;
  cpu: number;
}

/** MB per wall second and per CPU-second of `op` repeated for at least MIN_SAMPLE_MS. */
async function sample(op: () => unknown): Promise<Sample> {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let runs = 0;
  let elapsed = 0;
  do {
    await op();
    runs++;
    elapsed = performance.now() - start;
  } while (elapsed < MIN_SAMPLE_MS);
  const cpu = process.cpuUsage(cpuStart);
  const bytes = runs * SIZE;
  return { wall: bytes / (elapsed * 1000), cpu: bytes / (cpu.user + cpu.system) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'string' }, samples: { type: 'string', default: '7' } } });
  const samples = Number(values.samples);
  const candidates = [
    nodeCipher('node:crypto aes-256-gcm', 'aes-256-gcm'),
    nodeCipher('node:crypto chacha20-poly1305', 'chacha20-poly1305'),
    await webCryptoAesGcm(),
    sodiumXChaCha(),
    ...[libcrypto()].filter((c) => c !== null),
  ];
  const runs = new Map(candidates.map((c) => [c.name, { seal: [] as Sample[], open: [] as Sample[] }]));
  for (let i = 0; i < samples; i++) {
    for (const c of candidates) {
      runs.get(c.name)!.seal.push(await sample(c.seal));
      runs.get(c.name)!.open.push(await sample(c.open));
    }
  }
  const rows = candidates.map((c) => {
    const r = runs.get(c.name)!;
    const of = (list: Sample[], key: keyof Sample): number => median(list.map((s) => s[key]));
    return {
      name: c.name,
      sealMBps: of(r.seal, 'wall'),
      openMBps: of(r.open, 'wall'),
      sealMBperCpuS: of(r.seal, 'cpu'),
      openMBperCpuS: of(r.open, 'cpu'),
    };
  });
  const aesGcm = sodiumAesGcm();
  console.log(`AEAD, 4 MiB buffers, one thread, median of ${samples} alternating samples`);
  printTable(
    ['candidate', 'seal MB/s', 'open MB/s', 'seal MB/CPU-s', 'open MB/CPU-s'],
    rows.map((r) => [r.name, fmt(r.sealMBps), fmt(r.openMBps), fmt(r.sealMBperCpuS), fmt(r.openMBperCpuS)]),
  );
  console.log(`sodium-native AES-256-GCM: ${aesGcm}`);
  const malloc = {
    MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? null,
    MALLOC_TRIM_THRESHOLD_: process.env.MALLOC_TRIM_THRESHOLD_ ?? null,
  };
  console.log(`glibc malloc: ${JSON.stringify(malloc)}`);
  if (values.json)
    writeFileSync(
      values.json,
      JSON.stringify(
        {
          unit: 'MB (10^6 bytes) of plaintext per wall second / per CPU-second, one thread',
          bufferBytes: SIZE,
          samples,
          malloc,
          rows,
          sodiumAesGcm: aesGcm,
        },
        null,
        2,
      ),
    );
}

await main();
