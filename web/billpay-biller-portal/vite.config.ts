import { defineConfig } from 'vite';

// A static site: everything is bundled into dist/ (nothing from a CDN) and served from S3
// behind CloudFront. /config.json is read at start-up, so one build serves every environment.
export default defineConfig({
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  test: { environment: 'happy-dom', include: ['src/**/*.test.ts'] },
});
