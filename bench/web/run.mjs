// Web apps: JavaScript shipped (gzip) and time to interactive, per page, in headless Chromium
// on localhost. Reference in the same run: a static page with no JavaScript served by the same
// server, whose "interactive" time is the floor cost of a navigation.
//
//   cd web && npm run build && npm run bench [-- --runs 20]
//
// "Interactive" means the page's first control a person would use is rendered and enabled: the
// key field on the entry page, the biller buttons in apps A and B (with a signed-in customer),
// and the flags table in the admin (signed in). It is read from performance.now(), which counts
// from the start of the navigation.

import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ADMIN, launch, newCustomer, startServer } from '../../web/e2e/harness.mjs';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 20;
const dist = resolve(new URL('.', import.meta.url).pathname, '../../web/dist');

// Serve a copy of the build with the reference page added.
const webDir = mkdtempSync(join(tmpdir(), 'billpay-web-bench-'));
cpSync(dist, webDir, { recursive: true });
writeFileSync(join(webDir, 'reference.html'), '<!doctype html><html lang="en"><title>ref</title><input id="ref" aria-label="ref">');
process.env.BILLPAY_WEB_DIR = webDir;

const server = await startServer();
const browser = await launch();
const customer = await newCustomer(server.base, 'Bench');

const pages = [
  { name: 'reference (no JS)', path: '/reference.html', ready: '#ref' },
  { name: 'entry /', path: '/', ready: 'bp-signin #key' },
  { name: 'app A /a/', path: '/a/', ready: 'bp-pay button[data-biller]', session: true },
  { name: 'app B /b/', path: '/b/', ready: 'bp-pay button[data-biller]', session: true },
  { name: 'flags admin /flags/', path: '/flags/', ready: 'bp-flags-admin [data-testid="flags"]', admin: true },
];

function gz(bytes) {
  return gzipSync(bytes, { level: 9 }).length;
}

const percentile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];

const rows = [];
try {
for (const p of pages) {
  const times = [];
  let jsGzip = 0;
  for (let i = 0; i < runs + 2; i++) {
    const context = await browser.newContext();
    await context.addInitScript(
      ([session, admin]) => {
        if (session) localStorage.setItem('bp.session', session);
        if (admin) localStorage.setItem('bp.admin', admin);
      },
      [p.session ? JSON.stringify({ key: customer.key, customerId: customer.id, name: customer.name }) : null, p.admin ? ADMIN : null],
    );
    const page = await context.newPage();
    const scripts = new Map();
    page.on('response', async (r) => {
      if (r.request().resourceType() === 'script') scripts.set(r.url(), await r.body().catch(() => Buffer.alloc(0)));
    });
    await page.goto(server.base + p.path, { waitUntil: 'commit' });
    await page.locator(p.ready).first().waitFor({ state: 'visible' });
    const t = await page.evaluate(() => performance.now());
    await page.waitForLoadState('load');
    if (i >= 2) times.push(t); // two warm-up navigations
    jsGzip = [...scripts.values()].reduce((n, b) => n + gz(b), 0);
    await context.close();
  }
  rows.push({ page: p.name, js: jsGzip, p50: percentile(times, 0.5), p95: percentile(times, 0.95), max: Math.max(...times) });
}
} finally {
  await browser.close();
  await server.stop();
  rmSync(webDir, { recursive: true, force: true });
}

// Also the files as built, for the record.
const assets = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js'));
const built = assets.map((f) => [f, gz(readFileSync(join(dist, 'assets', f)))]);

const ref = rows[0];
console.log(`${runs} navigations per page (after 2 warm-ups), headless Chromium, localhost`);
console.log('page                  JS gzip   interactive p50   p95     max    p95 / reference');
for (const r of rows) {
  console.log(
    `${r.page.padEnd(21)} ${(r.js / 1024).toFixed(1).padStart(6)} kB  ${r.p50.toFixed(0).padStart(8)} ms ${r.p95.toFixed(0).padStart(6)} ms ${r.max.toFixed(0).padStart(6)} ms  ${(r.p95 / ref.p95).toFixed(1).padStart(6)}`,
  );
}
console.log('built JS files (gzip -9):', built.map(([f, n]) => `${f} ${(n / 1024).toFixed(1)} kB`).join(', '));
const over = rows.filter((r) => r.js > 50 * 1024 || r.p95 > 300);
if (over.length) {
  console.error('over budget (50 kB JS gzip, 300 ms interactive):', over.map((r) => r.page).join(', '));
  process.exitCode = 1;
}
