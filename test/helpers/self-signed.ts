import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

export interface SelfSigned {
  certFile: string;
  keyFile: string;
}

/**
 * A self-signed P-256 certificate (openssl) for 127.0.0.1 and localhost, valid two days, written
 * as `cert.pem` and `key.pem` in `dir`: what an HTTPS gateway under test serves and clients trust.
 */
export async function selfSigned(dir: string): Promise<SelfSigned> {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile };
}
