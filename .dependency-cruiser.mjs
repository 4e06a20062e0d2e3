// The import rules of docs/architecture.md and of each folder README's "May import" line, checked
// by `npm run lint`. A rule changes together with the README line it enforces.

/** Paths of npm packages, as resolved (node_modules may be a symlink, hence no ^). */
const npm = (...names) => `(^|/)node_modules/(${names.join('|')})/`;

/** A folder that may import only itself, the listed paths and node: modules. */
function only(folder, readme, allowed) {
  return {
    name: `${folder}-imports`,
    comment: `${readme}: ${folder}/ imports only ${allowed.join(', ') || 'itself'} and node: modules`,
    severity: 'error',
    from: { path: `^${folder}/` },
    to: { pathNot: [`^${folder}/`, ...allowed], dependencyTypesNot: ['core'] },
  };
}

export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'docs/architecture.md: the module graph has no cycle',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'every import resolves',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-dev-dependencies-in-production',
      comment: 'package.json: what src/, gateway/ and zdb/ import ships as a dependency, not a dev dependency',
      severity: 'error',
      from: { path: '^(src|gateway|zdb)/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'src-imports-no-program',
      comment:
        'src/README.md: src/ never imports gateway/ or zdb/ (it starts them as processes), nor bench/, test/ or wasm/',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(gateway|zdb|bench|test|wasm)/' },
    },
    {
      name: 'nothing-imports-test',
      comment: 'test/README.md: test/ is not built; nothing else imports it',
      severity: 'error',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
    {
      name: 'testing-only-in-tests',
      comment:
        'src/testing/README.md: the test tools are imported by test/ only, never by src/, gateway/, zdb/ or bench/',
      severity: 'error',
      from: { path: '^(src|gateway|zdb|bench)/', pathNot: '^src/testing/' },
      to: { path: '^src/testing/' },
    },
    {
      name: 'agent-through-index',
      comment:
        'src/agent/README.md: others import src/agent/index.ts (src/cli, which runs the agent and the registry, their entry points)',
      severity: 'error',
      from: { pathNot: '^(src/agent|src/cli|test)/' },
      to: { path: '^src/agent/', pathNot: '^src/agent/index\\.ts$' },
    },
    {
      name: 'zdb-client-through-index',
      comment: 'src/zdb-client/README.md: others import src/zdb-client/index.ts',
      severity: 'error',
      from: { pathNot: '^(src/zdb-client|test)/' },
      to: { path: '^src/zdb-client/', pathNot: '^src/zdb-client/index\\.ts$' },
    },

    // The layers of src/, lowest first.
    only('src/util', 'src/util/README.md', [npm('fs-ext', 'koffi', 'zod')]),
    only('src/resp', 'src/resp/README.md', ['^src/util/']),
    only('src/zdb-client', 'src/zdb-client/README.md', ['^src/(resp|util)/']),
    only('src/erasure', 'src/erasure/README.md', ['^src/util/']),
    only('src/pipeline', 'src/pipeline/README.md', [
      '^src/(erasure|util)/',
      npm('zstd-napi', 'piscina', '@node-rs/crc32'),
    ]),
    only('src/placement', 'src/placement/README.md', ['^src/util/', npm('zod')]),
    only('src/meta', 'src/meta/README.md', ['^src/util/', npm('better-sqlite3'), npm('pg')]),
    only('src/kms', 'src/kms/README.md', ['^src/(meta|pipeline|util)/']),
    only('src/store', 'src/store/README.md', [
      '^src/(kms|meta|pipeline|placement|zdb-client|util)/',
      npm('@node-rs/crc32'),
    ]),
    only('src/repair', 'src/repair/README.md', ['^src/(meta|pipeline|placement|store|util)/', npm('@node-rs/crc32')]),
    only('src/lifecycle', 'src/lifecycle/README.md', ['^src/(meta|store|util)/']),
    only('src/agent', 'src/agent/README.md', ['^src/(zdb-client|util)/', npm('better-sqlite3', 'pg', 'pino', 'zod')]),
    only('src/cluster', 'src/cluster/README.md', ['^src/(agent|meta|pipeline|placement|store|util)/']),
    only('src/config', 'src/config/README.md', ['^src/(erasure|placement|util)/', npm('zod')]),
    only('src/data-dir', 'src/data-dir/README.md', ['^src/(config|meta|pipeline|placement|store|cluster|util)/']),
    only('src/testing', 'src/testing/README.md', ['^src/(store|placement|zdb-client)/', npm('@node-rs/crc32')]),
    only('src/flist', 'src/flist/README.md', ['^src/(pipeline|zdb-client|util)/', 'node_modules/']),
    {
      name: 'cli-imports',
      comment:
        'src/cli/README.md: the qstor command imports src/ and packages; never gateway/ or zdb/ (it starts them as processes)',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^(gateway|zdb|bench|test|wasm)/' },
    },

    // The programs.
    only('zdb', 'zdb/README.md', ['^src/(resp|util)/', npm('@node-rs/crc32')]),
    {
      name: 'gateway-imports',
      comment:
        'gateway/README.md: imports src/ (not src/cli: the qstor command starts the gateway as a process), node: and packages; never zdb/',
      severity: 'error',
      from: { path: '^gateway/' },
      to: { path: '^(src/cli|zdb|bench|test|wasm)/' },
    },
    only('console', 'console/README.md', [npm('preact', '@preact/preset-vite', 'vite')]),
    {
      name: 'nothing-imports-console',
      comment:
        'console/README.md: the browser UI is built apart (vite); the gateway serves its files and imports none of it',
      severity: 'error',
      from: { pathNot: '^console/' },
      to: { path: '^console/' },
    },
    only('gateway/console', 'gateway/console/README.md', [
      '^gateway/(auth|ops|errors|header-value|router)',
      '^src/(meta|store|pipeline|util)/',
      npm('@smithy/protocol-http', '@smithy/signature-v4', 'pino'),
    ]),
    only('bench', 'bench/README.md', ['^(src|zdb)/', 'node_modules/']),
    only('wasm', 'wasm/README.md', ['^src/erasure/kernel-files\\.ts$', npm('wabt')]),
    {
      name: 'scripts-import-no-project-code',
      comment: 'scripts/README.md: plain Node.js, no imports from the project',
      severity: 'error',
      from: { path: '^scripts/' },
      to: { pathNot: '^scripts/', dependencyTypesNot: ['core'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|wasm/build)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a type is a dependency between layers too.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.mjs', '.d.ts'] },
  },
};
