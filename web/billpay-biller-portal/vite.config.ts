import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// The biller portal: a static site of its own (its bucket and distribution), built into dist/ and
// served from S3 behind CloudFront. It shares BillPay's components and API client with the other
// web apps (../src) and resolves one copy of Lit, from this project, for both. Asset paths are
// relative, so the same bytes work at the root of billers.<domain> and under /portal/ when
// `billpay serve` serves it. /config.json is read at start-up: one build serves every environment.
export default defineConfig({
  root: __dirname,
  base: './',
  publicDir: resolve(__dirname, '../public'),
  resolve: { dedupe: ['lit', 'lit-html', 'lit-element', '@lit/reactive-element'] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: {
    fs: { allow: [resolve(__dirname, '..')] },
    proxy: {
      '/v1': 'http://127.0.0.1:8080',
      '/config.json': 'http://127.0.0.1:8080/portal',
    },
  },
  test: { environment: 'happy-dom', include: ['src/**/*.test.ts'] },
});
