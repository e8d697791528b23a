// Web apps: JavaScript shipped (gzip) and time to interactive, per app, in headless Chromium on
// localhost, each app from its own build (web/dist/<app>/). Reference in the same run: a static
// page with no JavaScript served by the same server from the same folder, whose "interactive"
// time is the floor cost of a navigation.
//
//   cd web && npm run build && npm run bench [-- --runs 20] [--against OTHER_DIST]
//
// --against OTHER_DIST: also measures app A's home from another build (OTHER_DIST holding
// billpay-frontend-a/, such as a copy of web/dist made before a change), served by the same server
// under /a/against/, navigation for navigation in turn with /a/, with the same customer and session.
//
// "Interactive" means the first control a person would use on the page is rendered and enabled.
// The page itself watches for it on every animation frame, through shadow roots, and notes
// performance.now() (counted from the start of the navigation) on the frame it appears, so the
// figure holds no polling delay of the test driver:
// - apps A and B: the customer home with its data, signed in: the "Pagar" button of the first of
//   the customer's twelve bills, after the app has asked the server for the customer's variant;
// - the flags admin, signed in: the flags table;
// - the biller portal, its demo staff member signed in: the first of its section buttons, shown
//   once the portal knows the person and their biller.
// Sessions are real: each customer signs in once with an e-mailed code and each navigation
// starts in a new browser context holding that session cookie.

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ADMIN, api, billerWithBill, launch, newCustomer, setRollout, startServer } from '../../web/e2e/harness.mjs';

const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const runs = Number(arg('--runs')) || 20;
const against = arg('--against');
const dist = resolve(new URL('.', import.meta.url).pathname, '../../web/dist');
const BUDGET = { jsKb: 50, p95Ms: 300 };

// Serve a copy of the builds with the reference page added to app A's folder.
const webDir = mkdtempSync(join(tmpdir(), 'billpay-web-bench-'));
cpSync(dist, webDir, { recursive: true });
writeFileSync(
  join(webDir, 'billpay-frontend-a', 'reference.html'),
  '<!doctype html><html lang="en"><title>ref</title><input id="ref" aria-label="ref">',
);
if (against) cpSync(join(resolve(against), 'billpay-frontend-a'), join(webDir, 'billpay-frontend-a', 'against'), { recursive: true });
process.env.BILLPAY_WEB_DIR = webDir;

// The server as deployed: its worker polls at the binary's default (every 0.5 s). The tests' fast
// poll (0.1 s) would have the server take a core from the browser ten times a second.
const server = await startServer({ workerPollSecs: null });
const browser = await launch();
// The other build reads the server's config.json for app A, as a file beside its page.
if (against) writeFileSync(join(webDir, 'billpay-frontend-a', 'against', 'config.json'), await (await fetch(`${server.base}/a/config.json`)).text());

/** A customer with twelve bills due in their name (some overdue) and two payments made. */
async function customerWithHome(name) {
  const customer = await newCustomer(server.base, name);
  const { biller } = await billerWithBill(server.base, '500000');
  for (let i = 0; i < 12; i++) {
    const due = new Date(Date.now() + (i - 3) * 5 * 86400_000).toISOString().slice(0, 10);
    const bill = await api(server.base, ADMIN, 'POST', '/v1/bills', {
      biller_id: biller.id,
      reference: String(500001 + i),
      customer_name: customer.name,
      customer_id: customer.id,
      amount_due: 1_000_000 * (i + 1),
      currency: 'COP',
      due_date: due,
    });
    if (i < 2) {
      await api(server.base, ADMIN, 'POST', '/v1/payments', {
        bill_id: bill.id,
        amount: 500_000,
        currency: 'COP',
        customer_id: customer.id,
      });
    }
  }
  return customer;
}

/** Signs `customer` in with an e-mailed code and returns the browser storage holding the session. */
async function sessionOf(customer) {
  const context = await browser.newContext({ locale: 'es-CO' });
  const p = await context.newPage();
  await p.goto(server.base + '/a/');
  await p.getByLabel('Correo electrónico').fill(customer.email);
  await p.getByRole('button', { name: 'Enviar código' }).click();
  await p.getByLabel('Código de 6 dígitos').fill(await server.codeFor(customer.email));
  await p.getByRole('button', { name: 'Ingresar', exact: true }).click();
  await p.locator('main[data-variant]').waitFor();
  const state = await context.storageState();
  await context.close();
  return state;
}

/** Signs in with the demo's one-click staff button of the app at `path`; returns the storage holding the session. */
async function demoStaffSession(path, button, ready) {
  const context = await browser.newContext({ locale: 'es-CO' });
  const p = await context.newPage();
  await p.goto(server.base + path);
  await p.getByRole('button', { name: button }).click();
  await p.locator(ready).first().waitFor();
  const state = await context.storageState();
  await context.close();
  return state;
}

/**
 * Runs in the page before its scripts: on each animation frame, looks for `selector` (descendant
 * parts separated by spaces, each matched across shadow roots) and records when it is first
 * visible and enabled in `window.__interactive`.
 */
function watchFor(selector) {
  const parts = selector.split(' ');
  const all = (root, part) => {
    const found = [...root.querySelectorAll(part)];
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) found.push(...all(el.shadowRoot, part));
    return found;
  };
  const find = () => {
    let scope = [document];
    for (const part of parts) scope = scope.flatMap((r) => all(r.shadowRoot ?? r, part));
    return scope.find((el) => !el.disabled && el.getClientRects().length > 0);
  };
  const tick = () => {
    if (find()) window.__interactive = performance.now();
    else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const percentile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];

const rows = [];
try {
  // The first exposure is the assignment: one customer gets A, the next B.
  await setRollout(server.base, 0);
  const onA = await sessionOf(await customerWithHome('Bench A'));
  await setRollout(server.base, 100);
  const onB = await sessionOf(await customerWithHome('Bench B'));
  const admin = await demoStaffSession('/flags/', 'Ingresar como administrador de demostración', 'bp-flags-admin [data-testid="flags"]');
  const staff = await demoStaffSession('/portal/', 'Ingresar como personal de demostración (Energía)', 'bp-biller-portal nav button');

  // Pages measured in turn, navigation for navigation, share a group.
  const groups = [
    [{ name: 'reference (no JS)', path: '/a/reference.html', ready: '#ref' }],
    [
      { name: 'app A home /a/', path: '/a/', ready: 'bp-bills li button', state: onA, rows: 12 },
      ...(against ? [{ name: 'app A home, --against', path: '/a/against/', ready: 'bp-bills li button', state: onA, rows: 12, other: true }] : []),
    ],
    [{ name: 'app B home /b/', path: '/b/', ready: 'bp-bills li button', state: onB, rows: 12 }],
    [{ name: 'flags admin /flags/', path: '/flags/', ready: 'bp-flags-admin [data-testid="flags"]', state: admin }],
    [{ name: 'biller portal /portal/', path: '/portal/', ready: 'bp-biller-portal nav button', state: staff }],
  ];
  for (const group of groups) {
    for (const p of group) Object.assign(p, { times: [], jsGzip: 0 });
    for (let i = 0; i < runs + 2; i++) for (const p of group) {
      const context = await browser.newContext({ locale: 'es-CO', storageState: p.state });
      await context.addInitScript(watchFor, p.ready);
      const page = await context.newPage();
      const scripts = new Map();
      page.on('response', async (r) => {
        if (r.request().resourceType() === 'script') scripts.set(r.url(), await r.body().catch(() => Buffer.alloc(0)));
      });
      await page.goto(server.base + p.path, { waitUntil: 'commit' });
      await page.waitForFunction(() => window.__interactive !== undefined);
      if (!page.url().endsWith(p.path)) throw new Error(`${p.name}: ended on ${page.url()}`);
      const t = await page.evaluate(() => window.__interactive);
      if (p.rows && i === 0) {
        // The home is measured with its data: every bill of the customer is listed.
        const listed = await page.locator('bp-bills li').count();
        if (listed !== p.rows) throw new Error(`${p.name}: ${listed} bills listed, not ${p.rows}`);
      }
      await page.waitForLoadState('load');
      if (i >= 2) p.times.push(t); // two warm-up navigations
      p.jsGzip = [...scripts.values()].reduce((n, b) => n + gz(b), 0);
      await context.close();
    }
    for (const { name, jsGzip, times, other } of group) {
      rows.push({ page: name, js: jsGzip, p50: percentile(times, 0.5), p95: percentile(times, 0.95), max: Math.max(...times), other });
    }
  }
} finally {
  await browser.close();
  await server.stop();
  rmSync(webDir, { recursive: true, force: true });
}

// Also each build's files as built, for the record.
for (const app of ['billpay-frontend-a', 'billpay-frontend-b', 'billpay-feature-flags', 'billpay-biller-portal']) {
  const html = readFileSync(join(dist, app, 'index.html'), 'utf8');
  // A script may be named twice (its tag and a modulepreload link): each file counts once.
  const js = [...new Set([...html.matchAll(/src="\.\/(assets\/[^"]+\.js)"|href="\.\/(assets\/[^"]+\.js)"/g)].map((m) => m[1] ?? m[2]))];
  const kb = js.reduce((n, f) => n + gz(readFileSync(join(dist, app, f))), 0) / 1024;
  console.log(`${app}: ${js.length} JS files, ${kb.toFixed(1)} kB gzip -9`);
}

const ref = rows[0];
console.log(`${runs} navigations per page (after 2 warm-ups), headless Chromium, localhost`);
console.log('page                    JS gzip   interactive p50   p95     max    p95 / reference');
for (const r of rows) {
  console.log(
    `${r.page.padEnd(23)} ${(r.js / 1024).toFixed(1).padStart(6)} kB  ${r.p50.toFixed(0).padStart(8)} ms ${r.p95.toFixed(0).padStart(6)} ms ${r.max.toFixed(0).padStart(6)} ms  ${(r.p95 / ref.p95).toFixed(1).padStart(6)}`,
  );
}
// The budgets are this build's; the --against build is only there to compare.
const over = rows.filter((r) => !r.other && (r.js > BUDGET.jsKb * 1024 || r.p95 > BUDGET.p95Ms));
if (over.length) {
  console.error(`over budget (${BUDGET.jsKb} kB JS gzip, ${BUDGET.p95Ms} ms interactive at p95):`, over.map((r) => r.page).join(', '));
  process.exitCode = 1;
}
