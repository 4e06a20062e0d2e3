import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// Built into dist/console-ui, which the gateway serves on its admin port (gateway/console/static.ts).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [preact()],
  build: {
    outDir: fileURLToPath(new URL('../dist/console-ui', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    // No inline scripts: the page's Content-Security-Policy allows scripts from files only.
    modulePreload: { polyfill: false },
  },
  logLevel: 'warn',
});
