// Starts the real BillPay binary with the demo data and the built web apps, and Debian's
// Chromium through playwright-core. Never downloads a browser.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
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

/** The billpay server on a free port, with a fresh embedded database. */
export async function startServer() {
  const bin = process.env.BILLPAY_BIN ?? resolve(here, '../../target/debug/billpay');
  const dataDir = mkdtempSync(join(tmpdir(), 'billpay-e2e-'));
  const child = spawn(bin, ['serve', '--demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    env: { ...process.env, BILLPAY_WEB_DIR: process.env.BILLPAY_WEB_DIR ?? resolve(here, '../dist'), BILLPAY_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
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
  return {
    base,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
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

/** A new customer with a funded COP wallet and an API key; returns { id, key }. */
export async function newCustomer(base, name = 'Cliente de prueba') {
  counter += 1;
  const c = await api(base, ADMIN, 'POST', '/v1/customers', { name: `${name} ${counter}`, email: `e2e${counter}@example.com` });
  await api(base, ADMIN, 'POST', `/v1/customers/${c.id}/wallet/topups`, { amount: 100_000_000, currency: 'COP' });
  const key = await api(base, ADMIN, 'POST', `/v1/customers/${c.id}/api-keys`, { label: 'e2e' });
  return { id: c.id, key: key.secret, name: c.name };
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
