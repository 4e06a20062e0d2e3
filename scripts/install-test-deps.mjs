// The S3 clients test/gateway-clients.test.ts drives, Chromium for the console's browser test, PostgreSQL
// and HAProxy for the several-gateways tests, and
// what the flist tests need (FUSE with the libfuse2 that fuse-native links, a static busybox as a rootfs), that npm cannot provide:
// installed from Debian when missing and we are root (CI containers); otherwise named, so the
// tests that need them fail with a message instead of being skipped.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const TOOLS = [
  { command: 'rclone', pkg: 'rclone' },
  { command: 's3cmd', pkg: 's3cmd' },
  { command: 'redis-benchmark', pkg: 'redis-tools' },
  { command: 'fusermount3', pkg: 'fuse3' },
  { library: 'libfuse.so.2', pkg: 'libfuse2' },
  { file: '/bin/busybox', pkg: 'busybox-static' },
  // Network namespaces for the cluster test that cuts a node's link.
  { command: 'ip', pkg: 'iproute2' },
  // The browser test/console.test.ts drives with playwright-core (never a downloaded browser).
  { file: '/usr/bin/chromium', pkg: 'chromium' },
  // The PostgreSQL metadata engine's tests start a real server (initdb + pg_ctl, Debian's 15), and the
  // several-gateways test puts HAProxy in front of them.
  { file: '/usr/lib/postgresql/15/bin/pg_ctl', pkg: 'postgresql' },
  { command: 'haproxy', pkg: 'haproxy' },
  // Debian's boto3 for /usr/bin/python3, which test/gateway-sigv2.test.ts drives with SigV2.
  { file: '/usr/lib/python3/dist-packages/boto3/__init__.py', pkg: 'python3-boto3' },
  // The system's libcrypto, whose AES-256-GCM the store uses (test/unit/aes-gcm.test.ts checks it loads).
  { library: 'libcrypto.so.3', pkg: 'libssl3' },
];

function hasLibrary(name) {
  try {
    return execFileSync('ldconfig', ['-p'], { encoding: 'utf8' }).includes(name);
  } catch {
    return false;
  }
}

function present(t) {
  if (t.command) return onPath(t.command);
  if (t.library) return hasLibrary(t.library);
  return fs.existsSync(t.file);
}

function onPath(command) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, command), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const missing = TOOLS.filter((t) => !present(t));
if (missing.length > 0) {
  const pkgs = missing.map((t) => t.pkg);
  if (process.getuid?.() === 0) {
    process.stdout.write(`install-test-deps: installing ${pkgs.join(' ')}\n`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
  } else {
    process.stdout.write(
      `install-test-deps: missing ${missing.map((t) => t.command ?? t.library ?? t.file).join(', ')}; install them with\n  sudo apt-get install -y --no-install-recommends ${pkgs.join(' ')}\nThe tests that use them will fail until then.\n`,
    );
  }
}
