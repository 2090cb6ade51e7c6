import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The window UI. `base: './'` because the same files load from file:// in Electron and from `/` on
// the companion server; relative asset URLs work in both.
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // No inline <script>/<style> and no data: modules: the page's CSP allows only 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
});
