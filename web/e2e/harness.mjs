// Starts the real BillPay binary with the demo data and the built web apps, and Debian's
// Chromium through playwright-core. Never downloads a browser.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, readdirSync } from 'node:fs';
import { Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const here = new URL('.', import.meta.url).pathname;
export const ADMIN = 'bpk_demo_admin_do_not_use_in_production';
export const FLAGS_CLIENT = 'bpf_demo_web_client';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export function chromiumPath() {
  return process.env.BILLPAY_CHROMIUM ?? '/usr/bin/chromium';
}

/** A free TCP port on loopback. */
export async function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** aiosmtpd on loopback, keeping every message it receives in a maildir. */
async function startSmtp(mailDir) {
  const python = process.env.BILLPAY_PYTHON;
  if (!python) throw new Error('BILLPAY_PYTHON: a Python with aiosmtpd (./dev test installs it)');
  const port = await freePort();
  const child = spawn(python, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', mailDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await listening(port, 5_000);
  } catch (e) {
    child.kill();
    throw e;
  }
  return { port, child };
}

/** Waits until something accepts connections on loopback `port`; throws after `ms`. */
export async function listening(port, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const up = await new Promise((ok) => {
      const sock = new Socket();
      sock.once('connect', () => {
        sock.destroy();
        ok(true);
      });
      sock.once('error', () => ok(false));
      sock.connect(port, '127.0.0.1');
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

/**
 * The billpay server on a free port, with a fresh embedded database, its worker, and an SMTP
 * server (aiosmtpd) that receives the e-mail it sends: `codeFor(email)` reads a sign-in code
 * the way a person would, from the inbox.
 */
export async function startServer({ port = 0, args = [], workerPollSecs = '0.1' } = {}) {
  const bin = process.env.BILLPAY_BIN ?? resolve(here, '../../target/debug/billpay');
  const dataDir = mkdtempSync(join(tmpdir(), 'billpay-e2e-'));
  const mailDir = join(dataDir, 'mail');
  const smtp = await startSmtp(mailDir);
  const child = spawn(
    bin,
    [
      'serve',
      // The tests drive far more requests a second than a person; the limits have their own tests.
      '--no-rate-limits',
      '--demo',
      '--worker',
      '--listen',
      `127.0.0.1:${port}`,
      '--data-dir',
      dataDir,
      '--smtp-url',
      `smtp://127.0.0.1:${smtp.port}`,
      ...args,
    ],
    {
      env: {
        ...process.env,
        BILLPAY_WEB_DIR: process.env.BILLPAY_WEB_DIR ?? resolve(here, '../dist'),
        BILLPAY_LOG: 'error',
        // The tests poll fast so scheduled work shows at once; null keeps the binary's default.
        ...(workerPollSecs === null ? {} : { BILLPAY_WORKER_POLL_SECS: workerPollSecs }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const base = await new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`billpay did not start: ${out}`)), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/BillPay API on (http:\/\/[\d.:]+)/);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.on('exit', (code) => fail(new Error(`billpay exited with ${code}: ${out}`)));
  });
  const seen = new Set();
  return {
    base,
    /** The newest sign-in code e-mailed to `email` that was not read before; waits up to 10 s. */
    async codeFor(email) {
      for (let i = 0; i < 200; i++) {
        let files = [];
        try {
          files = readdirSync(join(mailDir, 'new'));
        } catch {
          /* nothing received yet */
        }
        for (const f of files) {
          if (seen.has(f)) continue;
          const text = readFileSync(join(mailDir, 'new', f), 'utf8');
          const to = text.match(/^To: (.*)$/m)?.[1]?.trim();
          const code = text.match(/^Subject: .*?(\d{6})\s*$/m)?.[1];
          if (to === email && code) {
            seen.add(f);
            return code;
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no sign-in code reached ${email}`);
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      smtp.child.kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fresh browser profile in `browser` (no session, Spanish by default); a page error fails the test. */
export async function newPage(browser) {
  const context = await browser.newContext({ locale: 'es-CO' });
  const p = await context.newPage();
  p.on('pageerror', (e) => {
    throw e;
  });
  return p;
}

export async function launch() {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
}

/** Calls the API as `key`; throws on an unexpected status. */
export async function api(base, key, method, path, body, expect = [200, 201]) {
  const resp = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  if (!expect.includes(resp.status)) throw new Error(`${method} ${path}: ${resp.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

let counter = 0;

/** A new customer with an e-mail address and a funded COP wallet; returns { id, email, name }. */
export async function newCustomer(base, name = 'Cliente de prueba') {
  counter += 1;
  const c = await api(base, ADMIN, 'POST', '/v1/customers', { name: `${name} ${counter}`, email: `e2e${counter}@example.com` });
  await api(base, ADMIN, 'POST', `/v1/customers/${c.id}/wallet/topups`, { amount: 100_000_000, currency: 'COP' });
  return { id: c.id, email: c.email, name: c.name };
}

/** A biller that takes partial payments, with one open bill of COP 125.000 for `reference`. */
export async function billerWithBill(base, reference, gln) {
  counter += 1;
  const b = await api(base, ADMIN, 'POST', '/v1/billers', {
    ...(gln ? { gln } : {}),
    name: `Aguas de Prueba ${counter}`,
    category: 'water',
    currency: 'COP',
    reference_pattern: '[0-9]{6}',
    reference_hint: 'six digits',
    amount_rule: 'partial',
    fee: { fixed: 0, bps: 0, payer: 'customer' },
  });
  const due = new Date(Date.now() + 10 * 86400_000).toISOString().slice(0, 10);
  const bill = await api(base, ADMIN, 'POST', '/v1/bills', {
    biller_id: b.id,
    reference,
    customer_name: 'Hogar de prueba',
    amount_due: 12_500_000,
    currency: 'COP',
    due_date: due,
  });
  return { biller: b, bill };
}

/** Sends `percentB` percent of customers to app B. */
export async function setRollout(base, percentB) {
  const set = await api(base, ADMIN, 'GET', '/v1/flag-sets/billpay-web');
  const flag = set.definition.flags['frontend-variant'];
  flag.targeting = { fractional: [['a', 100 - percentB], ['b', percentB]] };
  flag.state = 'ENABLED';
  await api(base, ADMIN, 'PUT', '/v1/flag-sets/billpay-web/flags/frontend-variant', flag);
}

/** Runs axe-core (WCAG 2 A and AA) on the page; returns the violations. */
export async function axe(page) {
  await page.addScriptTag({ content: readFileSync(resolve(here, '../node_modules/axe-core/axe.min.js'), 'utf8') });
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return r.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
}

/** A GS1 location number (GLN): twelve digits and their check digit. */
export function gln(first12) {
  const sum = [...first12].reverse().reduce((acc, d, i) => acc + Number(d) * (i % 2 === 0 ? 3 : 1), 0);
  return first12 + String((10 - (sum % 10)) % 10);
}
