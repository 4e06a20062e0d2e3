import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'wasm/build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // Promises: every one awaited or handed on, none where a callback's result is ignored. These
  // need the type checker (slower), and caught real bugs when the MetaStore became asynchronous.
  {
    files: ['src/**/*.ts', 'gateway/**/*.ts', 'zdb/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', 'wasm/**/*.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  // The test tiers' boundaries (test/README.md, src/testing/README.md). The typescript-eslint
  // rule, so that folder rules written with the core no-restricted-imports do not replace these.
  {
    files: ['src/**/*.ts', 'gateway/**/*.ts', 'zdb/**/*.ts', 'bench/**/*.ts'],
    ignores: ['src/testing/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/testing/*'], message: 'src/testing holds test tools: production code never uses them.' },
          ],
        },
      ],
    },
  },
  {
    files: ['test/unit/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ['child_process', 'net', 'http', 'https', 'dgram', 'cluster']
            .flatMap((m) => [m, `node:${m}`])
            .map((name) => ({
              name,
              message: 'The unit tier starts no process and opens no socket.',
              allowTypeImports: true,
            })),
          patterns: [
            {
              group: ['**/helpers/*', '!**/helpers/content*', '!**/helpers/memory-store*', '!**/helpers/pipeline*'],
              message: 'This helper starts processes or servers: the test belongs to the integration tier.',
            },
            { group: ['**/dist/**'], message: 'The unit tier runs from the source, without a build.' },
          ],
        },
      ],
    },
  },
);
