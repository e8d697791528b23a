import { resolve } from 'node:path';
import { type Plugin, defineConfig } from 'vite';

// Three web apps, three builds, sharing one set of components (src/): the customer apps of the
// A/B test and the flags admin. Each is its own site in production (its bucket and distribution),
// so each builds, with `vite build --mode <app>`, into dist/<app>/ holding only its page and the
// code that page loads. Asset paths are relative (`base: './'`): the same bytes work at the root
// of the app's own domain and under /a/, /b/ and /flags/ when `billpay serve` serves them.
// Everything is bundled; nothing is loaded from a CDN. The fourth app, the biller portal, is a
// project of its own (billpay-biller-portal/, with its own vite.config.ts) that imports the same
// components; `npm run build` builds it too and copies its dist/ to dist/billpay-biller-portal/.
export const APPS: Record<string, string> = {
  'billpay-frontend-a': 'a',
  'billpay-frontend-b': 'b',
  'billpay-feature-flags': 'flags',
};

/**
 * The customer apps' first questions (src/lib/start.ts) as a script of their own, loaded before
 * the components' script: it is small, so it runs, and its requests leave, while the larger one
 * is still on its way. Both share one copy of the modules they have in common (the client and its
 * state), which Rollup puts in the first script's chunk.
 */
function earlyStart(root: string): Plugin {
  const entry = resolve(__dirname, 'src/lib/start.ts');
  return {
    name: 'billpay-early-start',
    apply: 'build',
    config: () => ({ build: { rollupOptions: { input: { index: resolve(root, 'index.html'), start: entry } } } }),
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        const chunk = Object.values(ctx.bundle ?? {}).find((c) => c.type === 'chunk' && c.isEntry && c.facadeModuleId === entry);
        if (!chunk) throw new Error('billpay-early-start: no chunk for src/lib/start.ts');
        return [{ tag: 'script', attrs: { type: 'module', crossorigin: true, src: `./${chunk.fileName}` }, injectTo: 'head-prepend' }];
      },
    },
  };
}

export default defineConfig(({ mode }) => {
  const page = APPS[mode] ?? 'a';
  const app = Object.keys(APPS).find((k) => APPS[k] === page) as string;
  const root = resolve(__dirname, page);
  return {
    root,
    base: './',
    publicDir: resolve(__dirname, 'public'),
    plugins: page === 'flags' ? [] : [earlyStart(root)],
    build: {
      outDir: resolve(__dirname, 'dist', app),
      emptyOutDir: true,
      target: 'es2022',
    },
    server: {
      fs: { allow: [__dirname] },
      proxy: {
        '/v1': 'http://127.0.0.1:8080',
        '/ofrep': 'http://127.0.0.1:8080',
        '/config.json': `http://127.0.0.1:8080/${page}`,
      },
    },
    test: {
      root: __dirname,
      environment: 'happy-dom',
      include: ['src/**/*.test.ts', 'billpay-biller-portal/src/**/*.test.ts'],
    },
  };
});
