// The biller portal end to end: a biller's staff member signs in through single sign-on (a real
// OpenID provider on loopback), uploads bills, refunds a payment, watches its webhook deliveries,
// downloads the day's settlement file, reconciles a batch and closes the exception, and answers a
// complaint, which the customer then reads in their app. Another biller's data never shows.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { ADMIN, api, axe, billerWithBill, freePort, launch, newCustomer, newPage, startServer } from './harness.mjs';
import { oidcArgs, signInAtIdp, startIdp } from './idp.mjs';

let server;
let idp;
let browser;
let site;
let hooks;
const received = [];
/** The biller whose staff use the portal, and another one. */
let mine;
let theirs;
let customer;
let customerKey;

before(async () => {
  const port = await freePort();
  site = `http://localhost:${port}`;
  idp = await startIdp(await freePort(), `${site}/v1/auth/oidc/callback`);
  server = await startServer({ port, args: oidcArgs(idp, site) });
  browser = await launch();
  // The biller's webhook receiver: it answers 200 and keeps what it got.
  hooks = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.end('ok');
    });
  });
  await new Promise((ok) => hooks.listen(0, '127.0.0.1', ok));

  mine = await billerWithBill(server.base, '700001');
  theirs = await billerWithBill(server.base, '800001');
  customer = await newCustomer(server.base, 'Cliente del portal');
  customerKey = (await api(server.base, ADMIN, 'POST', `/v1/customers/${customer.id}/api-keys`, { label: 'e2e' })).secret;
  for (const [b, amount] of [
    [mine, 3_000_000],
    [mine, 2_000_000],
    [theirs, 4_000_000],
  ]) {
    await api(server.base, ADMIN, 'POST', '/v1/payments', { bill_id: b.bill.id, amount, currency: 'COP', customer_id: customer.id });
  }
  await api(server.base, ADMIN, 'POST', '/v1/staff', { email: 'carla@staff.test', name: 'Carla', role: 'biller', biller_id: mine.biller.id });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await idp?.stop();
  hooks?.close();
});

/** Signs in to the portal through the provider's own sign-in and consent pages as `login`. */
async function ssoSignIn(p, login) {
  await p.goto(site + '/portal/');
  await p.getByTestId('sso').click();
  await signInAtIdp(p, login);
  await p.waitForURL(`${site}/portal/`);
}

async function tab(p, name) {
  await p.getByRole('navigation').getByRole('button', { name, exact: true }).click();
}

async function noViolations(p, where) {
  assert.deepEqual(await axe(p), [], `${where} is accessible`);
}

async function billsOf(billerId) {
  return (await api(server.base, ADMIN, 'GET', `/v1/bills?biller_id=${billerId}&limit=100`)).data;
}

test("a biller's staff member works bills, refunds, webhooks, settlement, reconciliation and a complaint", async () => {
  const { biller } = mine;
  const payments = (await api(server.base, ADMIN, 'GET', `/v1/payments?biller_id=${biller.id}`)).data;
  const complaint = await api(server.base, customerKey, 'POST', '/v1/complaints', {
    payment_id: payments[0].id,
    type: 'paid_not_credited',
    description: 'Pagué y la factura sigue pendiente',
  });

  const p = await newPage(browser);
  await ssoSignIn(p, 'carla');
  await p.getByRole('heading', { level: 1, name: biller.name }).waitFor();
  assert.match(await p.getByTestId('who').textContent(), /Carla · Aguas de Prueba/);

  // Overview: today's collections (both payments) and the complaint due within its 48 hours.
  const collected = p.getByTestId('collections');
  await collected.locator('svg text', { hasText: '$ 50.000' }).first().waitFor();
  await p.getByTestId('deadlines').locator('svg text', { hasText: '1 reclamos' }).first().waitFor();
  await noViolations(p, 'the overview');

  // Bills: a file with one bad row is refused whole, and the row is named.
  await tab(p, 'Facturas');
  const due = new Date(Date.now() + 20 * 86400_000).toISOString().slice(0, 10);
  const before = (await billsOf(biller.id)).length;
  const bad = `reference,customer_name,amount_due,due_date\n710001,Casa Uno,4500000,${due}\n710002,Casa Dos,45.000,${due}\n710003,Casa Tres,3900000,${due}\n`;
  await p.locator('#bills-file').setInputFiles({ name: 'facturas.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
  await p.getByRole('button', { name: 'Subir', exact: true }).click();
  const rowErrors = p.getByTestId('row-errors');
  await rowErrors.waitFor();
  assert.match(await rowErrors.textContent(), /row 2[\s\S]*amount_due "45\.000" is not an integer/);
  assert.match(await p.getByTestId('message').textContent(), /1 row\(s\) are invalid; nothing was written/);
  assert.equal((await billsOf(biller.id)).length, before, 'nothing was written');
  await noViolations(p, 'the bills screen with a refused file');
  // Fixed, it goes in whole; one bill is then cancelled.
  await p.locator('#bills-file').setInputFiles({ name: 'facturas.csv', mimeType: 'text/csv', buffer: Buffer.from(bad.replace('45.000', '4500000')) });
  await p.getByRole('button', { name: 'Subir', exact: true }).click();
  await p.getByText('3 facturas creadas.').waitFor();
  assert.equal(await p.getByTestId('row-errors').count(), 0, 'the refused rows are gone');
  await p.getByRole('button', { name: 'Anular la factura 710003' }).click();
  await p.getByText('Factura 710003 anulada.').waitFor();
  const bills = await billsOf(biller.id);
  assert.equal(bills.length, before + 3);
  assert.equal(bills.find((b) => b.reference === '710003').status, 'cancelled');
  assert.equal(bills.find((b) => b.reference === '710001').status, 'open');

  // Webhooks: an endpoint with its secret shown once, then a refund whose event it receives.
  await tab(p, 'Webhooks');
  const hookUrl = `http://localhost:${hooks.address().port}/billpay`;
  await p.getByLabel('URL del receptor (https)').fill(hookUrl);
  await p.getByRole('button', { name: 'Agregar endpoint' }).click();
  assert.match(await p.getByTestId('secret').locator('pre').textContent(), /^whsec_/);
  await p.getByRole('button', { name: `Rotar el secreto de ${hookUrl}` }).click();
  await p.getByText('El secreto anterior sigue valiendo hasta', { exact: false }).waitFor();

  await tab(p, 'Pagos');
  const paymentsTable = p.getByTestId('payments');
  await paymentsTable.waitFor();
  const listed = await paymentsTable.locator('tbody tr').count();
  assert.equal(listed, 2, "only this biller's two payments");
  await p.getByRole('button', { name: `Reembolsar el pago ${payments[1].confirmation_number}` }).click();
  await p.getByLabel('Valor a reembolsar').fill('5.000');
  await p.getByLabel('Motivo').fill('Cobro de más');
  await p.getByRole('button', { name: 'Hacer el reembolso' }).click();
  await p.getByText('Reembolso de $ 5.000 hecho.').waitFor();
  const refunded = await api(server.base, ADMIN, 'GET', `/v1/payments/${payments[1].id}`);
  assert.equal(refunded.refunded_amount, 500_000);

  await tab(p, 'Webhooks');
  await p.getByRole('button', { name: `Ver las entregas de ${hookUrl}` }).click();
  const deliveries = p.getByTestId('deliveries');
  await deliveries.getByText('payment.refunded').waitFor();
  for (let i = 0; i < 100 && !received.some((e) => e.type === 'payment.refunded'); i++) await new Promise((r) => setTimeout(r, 50));
  const firstDeliveries = received.filter((e) => e.type === 'payment.refunded').length;
  assert.equal(firstDeliveries, 1, 'the receiver got the refund event');
  const event = received.find((e) => e.type === 'payment.refunded');
  await p.getByRole('button', { name: `Reenviar el evento ${event.id}` }).click();
  await p.getByText('Evento payment.refunded en cola para reenvío.').waitFor();
  for (let i = 0; i < 100 && received.filter((e) => e.id === event.id).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(received.filter((e) => e.id === event.id).length, 2, 'the replay reached the receiver again');
  await noViolations(p, 'the webhooks screen');

  // Settlement: the day's CSV, whose total is what the ledger says BillPay owes the biller.
  await tab(p, 'Liquidación');
  await p.getByTestId('net').waitFor();
  const [download] = await Promise.all([p.waitForEvent('download'), p.getByTestId('download').click()]);
  const csv = readFileSync(await download.path(), 'utf8').trim().split('\n').map((l) => l.split(','));
  assert.deepEqual(csv[0].slice(0, 2), ['kind', 'id']);
  const total = csv.at(-1);
  assert.equal(total[0], 'total');
  const detail = await api(server.base, ADMIN, 'GET', `/v1/billers/${biller.id}`);
  const payable = await api(server.base, ADMIN, 'GET', `/v1/ledger/accounts/${detail.payable_account_id}`);
  assert.equal(Number(total[7]), payable.balance, 'the settlement total equals the payable balance in the ledger');
  assert.equal(Number(total[7]), 3_000_000 + 2_000_000 - 500_000);
  assert.equal(csv.length, 1 + 3 + 1, 'two payments, one refund, the total');
  assert.match(await p.getByTestId('net').textContent(), /\$\s45\.000/);

  // BillPay settles the day; the biller's file has one amount wrong.
  const batch = await api(server.base, ADMIN, 'POST', '/v1/settlement-batches', { biller_id: biller.id });
  await tab(p, 'Resumen');
  await tab(p, 'Liquidación');
  await p.locator('#reconcile-batch').selectOption(batch.id);
  const [first, second] = payments;
  const file = `id,amount\n${first.confirmation_number},${first.amount}\n${second.confirmation_number},${second.amount + 100}\n`;
  await p.locator('#reconcile-file').setInputFiles({ name: 'conciliacion.csv', mimeType: 'text/csv', buffer: Buffer.from(file) });
  await p.getByRole('button', { name: 'Conciliar', exact: true }).click();
  await p.getByText(/1 coinciden, \d+ excepciones\./).waitFor();
  const exceptions = p.getByTestId('exceptions');
  await exceptions.getByText('Valor distinto').waitFor();
  await noViolations(p, 'the settlement screen');
  await p.getByLabel(`Cómo se resolvió la excepción de ${second.confirmation_number}`).fill('El archivo tenía un error de digitación');
  await exceptions.getByRole('row', { name: new RegExp(second.confirmation_number) }).getByRole('button', { name: 'Cerrar excepción' }).click();
  await p.getByText('Excepción cerrada.').waitFor();
  const closed = (await api(server.base, ADMIN, 'GET', `/v1/reconciliation-exceptions?batch_id=${batch.id}&status=closed`)).data;
  assert.equal(closed.length, 1);
  assert.equal(closed[0].item_id, second.confirmation_number);
  assert.equal(closed[0].note, 'El archivo tenía un error de digitación');

  // Complaints: the inbox shows the deadline; the answer goes to the customer.
  await tab(p, 'Reclamos');
  await p.getByTestId('complaints').getByText('Quedan', { exact: false }).waitFor();
  await p.getByRole('button', { name: `Abrir el reclamo ${complaint.id}` }).click();
  await p.getByTestId('complaint').getByText('Pagué y la factura sigue pendiente', { exact: true }).waitFor();
  await p.getByLabel('Responsable').fill('Carla');
  await p.getByRole('button', { name: 'Asignar' }).click();
  await p.getByText('Reclamo actualizado: Asignado.').waitFor();
  await p.getByLabel('Respuesta al cliente').fill('Su pago quedó aplicado el mismo día; ya aparece en su cuenta.');
  await p.getByRole('button', { name: 'Responder', exact: true }).click();
  await p.getByText('Reclamo actualizado: Respondido.').waitFor();
  await noViolations(p, 'the complaints screen');
  assert.equal((await api(server.base, ADMIN, 'GET', `/v1/complaints/${complaint.id}`)).status, 'responded');
  await p.context().close();

  // The customer reads the answer in their app.
  const c = await newPage(browser);
  await c.goto(server.base + '/');
  await c.getByLabel('Correo electrónico').fill(customer.email);
  await c.getByRole('button', { name: 'Enviar código' }).click();
  await c.getByLabel('Código de 6 dígitos').fill(await server.codeFor(customer.email));
  await c.getByRole('button', { name: 'Ingresar', exact: true }).click();
  await c.getByTestId('complaint-response').getByText('Su pago quedó aplicado el mismo día', { exact: false }).waitFor();
  await c.context().close();
});

test("the portal never shows another biller's data, and speaks English", async () => {
  const other = (await api(server.base, ADMIN, 'GET', `/v1/payments?biller_id=${theirs.biller.id}`)).data[0];
  const p = await newPage(browser);
  await ssoSignIn(p, 'carla');
  await p.getByRole('heading', { level: 1, name: mine.biller.name }).waitFor();
  await p.getByLabel('Idioma').selectOption('en');
  await tab(p, 'Payments');
  await p.getByTestId('payments').waitFor();
  const text = await p.locator('body').innerText();
  assert.ok(!text.includes(other.confirmation_number), "another biller's payment shows");
  assert.ok(!text.includes(theirs.biller.name));
  await p.getByRole('heading', { name: 'Payments received' }).waitFor();
  // Whatever the page asks for of the other biller is not found.
  const seen = await p.evaluate(
    async ({ payment, biller, bill }) => ({
      payment: (await fetch(`/v1/payments/${payment}`)).status,
      report: (await fetch(`/v1/billers/${biller}/settlement-reports/2026-01-01`)).status,
      bill: (await fetch(`/v1/bills/${bill}`)).status,
      cancel: (await fetch(`/v1/bills/${bill}/cancel`, { method: 'POST' })).status,
    }),
    { payment: other.id, biller: theirs.biller.id, bill: theirs.bill.id },
  );
  assert.deepEqual(seen, { payment: 404, report: 404, bill: 404, cancel: 404 });
  assert.equal((await api(server.base, ADMIN, 'GET', `/v1/bills/${theirs.bill.id}`)).status, 'partially_paid');
  await noViolations(p, 'the portal in English');
  await p.context().close();
});

test('someone who is not staff of a biller gets no portal', async () => {
  await api(server.base, ADMIN, 'POST', '/v1/staff', { email: 'lucia@staff.test', name: 'Lucía', role: 'admin' });
  const p = await newPage(browser);
  await ssoSignIn(p, 'lucia');
  await p.getByText('Tu cuenta no pertenece a una empresa recaudadora', { exact: false }).waitFor();
  assert.equal(await p.getByRole('navigation').count(), 0);
  await p.context().close();
});

test("the demo's one-click staff sign-in opens Energía's portal", async () => {
  const p = await newPage(browser);
  await p.goto(site + '/portal/');
  await p.getByTestId('demo-staff').click();
  await p.getByRole('heading', { level: 1, name: /Energía/ }).waitFor();
  const me = await p.evaluate(() => fetch('/v1/me').then((r) => r.json()));
  assert.equal(me.role, 'biller');
  assert.equal(me.biller_id, 'blr_demo_energia');
  await p.getByRole('navigation').getByRole('button', { name: 'Facturas', exact: true }).click();
  await p.getByTestId('bills').waitFor();
  const ids = await p.evaluate(() => fetch('/v1/bills?limit=100').then((r) => r.json()).then((l) => [...new Set(l.data.map((b) => b.biller_id))]));
  assert.deepEqual(ids, ['blr_demo_energia']);
  await p.context().close();
});
