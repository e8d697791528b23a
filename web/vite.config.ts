import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// Four static pages sharing one set of components: the entry page, the two customer apps of the
// A/B test, and the flags admin. Everything is bundled; nothing is loaded from a CDN.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: {
        entry: resolve(__dirname, 'index.html'),
        a: resolve(__dirname, 'a/index.html'),
        b: resolve(__dirname, 'b/index.html'),
        flags: resolve(__dirname, 'flags/index.html'),
      },
    },
  },
  server: {
    proxy: {
      '/v1': 'http://127.0.0.1:8080',
      '/ofrep': 'http://127.0.0.1:8080',
      '/config.json': 'http://127.0.0.1:8080',
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.ts'],
  },
});
