// End-to-end: the real server, the built apps and headless Chromium, as a customer and an admin
// would use them.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN, api, axe, billerWithBill, gln, launch, newCustomer, newPage, setRollout, startServer } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh browser profile (no session, Spanish by default). */
const page = () => newPage(browser);

/**
 * Signs `customer` in as a person does, on the site's address (which opens app A): the e-mail
 * address, then the code from the inbox. Waits until the app of their variant shows their home,
 * and returns its path.
 */
async function signIn(p, customer) {
  await p.goto(server.base + '/');
  await p.getByLabel('Correo electrónico').fill(customer.email);
  await p.getByRole('button', { name: 'Enviar código' }).click();
  const code = await server.codeFor(customer.email);
  await p.getByLabel('Código de 6 dígitos').fill(code);
  await p.getByRole('button', { name: 'Ingresar', exact: true }).click();
  await p.locator('main[data-variant]').waitFor();
  return new URL(p.url()).pathname;
}

async function payments(customerId) {
  return (await api(server.base, ADMIN, 'GET', `/v1/payments?customer_id=${customerId}`)).data;
}

async function lookUp(p, billerName, reference) {
  await p.getByLabel('Nombre o categoría').fill(billerName);
  await p.getByRole('button', { name: new RegExp(billerName) }).click();
  await p.getByLabel('Referencia de pago').fill(reference);
  await p.getByRole('button', { name: 'Consultar' }).click();
  await p.getByTestId('outstanding').waitFor();
}

test('app A: review, then pay a bill in full', async () => {
  await setRollout(server.base, 0);
  const customer = await newCustomer(server.base);
  const { biller, bill } = await billerWithBill(server.base, '100001');
  const p = await page();
  assert.equal(await signIn(p, customer), '/a/');

  await lookUp(p, biller.name, '100001');
  // COP in Colombian notation.
  assert.equal(await p.getByTestId('outstanding').textContent(), '$\u00a0125.000');
  await p.getByRole('button', { name: 'Revisar pago' }).click();
  await p.getByTestId('review').waitFor();
  assert.match(await p.getByTestId('review').textContent(), /Total a debitar\s*\$\u00a0125\.000/);
  await p.getByRole('button', { name: 'Confirmar y pagar' }).click();
  const done = await p.getByTestId('paid').textContent();
  assert.match(done, /Pago exitoso\. Confirmación BP-[2-9A-Z]{4}-[2-9A-Z]{4}/);

  // The wallet, the history and the server agree.
  const paid = await payments(customer.id);
  assert.equal(paid.length, 1);
  assert.equal(paid[0].amount, 12_500_000);
  assert.equal(paid[0].bill_id, bill.id);
  await p.getByTestId('history').getByText(paid[0].confirmation_number).waitFor();
  assert.equal(await p.locator('[data-currency="COP"]').textContent(), '$\u00a0875.000');
  await p.context().close();
});

test('app B: pay part of a bill in one step, then see the receipt', async () => {
  await setRollout(server.base, 100);
  const customer = await newCustomer(server.base);
  const { biller } = await billerWithBill(server.base, '200002');
  const p = await page();
  assert.equal(await signIn(p, customer), '/b/');

  await lookUp(p, biller.name, '200002');
  await p.getByLabel(/Valor a pagar/).fill('25.000,50');
  await p.getByRole('button', { name: 'Pagar ahora' }).click();
  await p.getByTestId('paid').waitFor();
  assert.equal(await p.getByTestId('review').count(), 0, 'B has no review step');
  const paid = await payments(customer.id);
  assert.equal(paid.length, 1);
  assert.equal(paid[0].amount, 2_500_050);
  // The bill now shows what is left.
  await p.getByTestId('outstanding').filter({ hasText: '99.999,50' }).waitFor();

  await p.getByRole('button', { name: 'Ver comprobante' }).click();
  const receipt = p.frameLocator('iframe[title="Comprobante de pago"]');
  await receipt.getByText(paid[0].confirmation_number).waitFor();
  await p.context().close();
});

test('app B: pay from the barcode pasted off the invoice', async () => {
  await setRollout(server.base, 100);
  const customer = await newCustomer(server.base);
  const location = gln(`7709998${String(Date.now()).slice(-5)}`);
  await billerWithBill(server.base, '300003', location);
  const p = await page();
  assert.equal(await signIn(p, customer), '/b/');

  await p.getByLabel('Código de barras de la factura').fill(`(415)${location}(8020)300003(3900)125000(96)20261215`);
  await p.getByRole('button', { name: 'Buscar la factura' }).click();
  await p.getByTestId('outstanding').waitFor();
  await p.getByRole('button', { name: 'Pagar ahora' }).click();
  await p.getByTestId('paid').waitFor();
  const paid = await payments(customer.id);
  assert.equal(paid.length, 1);
  assert.equal(paid[0].amount, 12_500_000);

  // A code with a wrong check digit is refused, saying which digit.
  const broken = location.slice(0, 12) + String((Number(location[12]) + 1) % 10);
  await p.getByLabel('Código de barras de la factura').fill(`(415)${broken}(8020)300003`);
  await p.getByRole('button', { name: 'Buscar la factura' }).click();
  await p.getByRole('alert').filter({ hasText: 'check digit' }).waitFor();
  await p.context().close();
});

test('a double click pays once', async () => {
  await setRollout(server.base, 100);
  const customer = await newCustomer(server.base);
  const { biller, bill } = await billerWithBill(server.base, '300003');
  const p = await page();
  assert.equal(await signIn(p, customer), '/b/');
  await lookUp(p, biller.name, '300003');
  await p.getByRole('button', { name: 'Pagar ahora' }).dblclick();
  await p.getByTestId('paid').waitFor();
  // Let any second request land before counting.
  await p.waitForTimeout(500);
  assert.equal((await payments(customer.id)).length, 1);
  const after = await api(server.base, ADMIN, 'GET', `/v1/bills/${bill.id}`);
  assert.equal(after.amount_outstanding, 0);
  await p.context().close();
});

test('the admin moves the rollout to 100% B; a new customer lands on B, earlier ones stay', async () => {
  await setRollout(server.base, 0);
  const earlier = await newCustomer(server.base);
  const p0 = await page();
  assert.equal(await signIn(p0, earlier), '/a/');
  await p0.context().close();

  const admin = await page();
  await admin.goto(server.base + '/flags/');
  await admin.getByRole('button', { name: 'Ingresar como administrador de demostración' }).click();
  await admin.getByTestId('rollout-value').waitFor();
  assert.equal(await admin.getByTestId('rollout-value').textContent(), '0%');
  await admin.getByLabel(/Porcentaje de clientes en B/).fill('100');
  assert.equal(await admin.getByTestId('rollout-value').textContent(), '100%');
  await admin.getByTestId('apply-rollout').click();
  await admin.getByTestId('message').filter({ hasText: /Guardado: versión \d+/ }).waitFor();
  const set = await api(server.base, ADMIN, 'GET', '/v1/flag-sets/billpay-web');
  assert.deepEqual(set.definition.flags['frontend-variant'].targeting, { fractional: [['a', 0], ['b', 100]] });

  // The change is in the history with its diff.
  await admin.getByRole('tab', { name: 'Historial' }).click();
  await admin.getByTestId('history').getByText('edited flag frontend-variant').first().waitFor();
  await admin.context().close();

  const fresh = await newCustomer(server.base);
  const p1 = await page();
  assert.equal(await signIn(p1, fresh), '/b/');
  await p1.context().close();
  // The earlier customer keeps the variant they were first shown.
  const p2 = await page();
  assert.equal(await signIn(p2, earlier), '/a/');
  await p2.context().close();
});

test('the kill switch sends everyone to A', async () => {
  await setRollout(server.base, 100);
  const customer = await newCustomer(server.base);
  const p0 = await page();
  assert.equal(await signIn(p0, customer), '/b/');
  await p0.context().close();

  const admin = await page();
  await admin.goto(server.base + '/flags/');
  await admin.getByRole('button', { name: 'Ingresar como administrador de demostración' }).click();
  const killSwitch = admin.getByRole('switch', { name: 'Encendido: frontend-variant' });
  assert.equal(await killSwitch.isChecked(), true);
  await killSwitch.uncheck();
  await admin.getByTestId('message').filter({ hasText: /Guardado/ }).waitFor();
  await admin.context().close();

  const p1 = await page();
  assert.equal(await signIn(p1, customer), '/a/');
  await p1.context().close();
  await setRollout(server.base, 50);
});

test('a bad flag definition is refused, with the reason shown', async () => {
  const before = await api(server.base, ADMIN, 'GET', '/v1/flag-sets/billpay-web');
  const admin = await page();
  await admin.goto(server.base + '/flags/');
  await admin.getByRole('button', { name: 'Ingresar como administrador de demostración' }).click();
  await admin.getByRole('button', { name: 'Editar frontend-variant' }).click();
  await admin.getByLabel('Regla de targeting (JsonLogic)').fill('{"fractional": [["a", 50], ["c", 50]]}');
  // Live validation names the problem before saving.
  const validation = admin.getByTestId('validation');
  await validation.getByText('/flags/frontend-variant/targeting').waitFor();
  assert.match(await validation.textContent(), /`c`/);
  await admin.getByTestId('save').click();
  await admin.getByTestId('save-error').filter({ hasText: /breaks 1 rule/ }).waitFor();
  const after = await api(server.base, ADMIN, 'GET', '/v1/flag-sets/billpay-web');
  assert.equal(after.version, before.version, 'nothing was saved');

  // Fixing it makes it valid again.
  await admin.getByLabel('Regla de targeting (JsonLogic)').fill('{"fractional": [["a", 50], ["b", 50]]}');
  await validation.getByText('Definición válida.').waitFor();
  await admin.context().close();
});

test('English, keyboard use and WCAG AA (axe-core) on every app', async () => {
  const customer = await newCustomer(server.base);
  const p = await page();
  await p.goto(server.base + '/');
  assert.deepEqual(await axe(p), []);
  // Every page names its icon, and it is there (no 404 in the console).
  const icon = await p.evaluate(async () => {
    const href = document.querySelector('link[rel=icon]')?.getAttribute('href');
    const r = await fetch(href);
    return [href, r.status, r.headers.get('content-type')];
  });
  assert.deepEqual(icon, ['./favicon.svg', 200, 'image/svg+xml']);
  // Keyboard only: tab past the passkey button to the e-mail field, type, press Enter; then the
  // code, and Enter.
  const focusedId = () =>
    p.evaluate(() => {
      let el = document.activeElement;
      while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
      return el?.id ?? '';
    });
  const order = [];
  for (let i = 0; i < 4 && !order.includes('email'); i++) {
    await p.keyboard.press('Tab');
    order.push(await focusedId());
  }
  assert.deepEqual(order, ['lang', 'passkey-signin', 'email'], 'language, the passkey, then the e-mail field');
  await p.keyboard.type(customer.email);
  await p.keyboard.press('Enter');
  await p.getByLabel('Código de 6 dígitos').waitFor();
  assert.deepEqual(await axe(p), []);
  await p.getByLabel('Código de 6 dígitos').focus();
  await p.keyboard.type(await server.codeFor(customer.email));
  await p.keyboard.press('Enter');
  await p.locator('main[data-variant]').waitFor();
  await p.getByTestId('balances').waitFor();
  assert.deepEqual(await axe(p), []);
  await p.getByLabel('Idioma').selectOption('en');
  await p.getByRole('heading', { name: 'Your wallet' }).waitFor();
  assert.equal(await p.evaluate(() => document.documentElement.lang), 'en');
  assert.equal(await p.locator('[data-currency="COP"]').textContent(), 'COP\u00a01,000,000');
  await p.context().close();

  const admin = await page();
  await admin.goto(server.base + '/flags/');
  await admin.getByRole('button', { name: 'Ingresar como administrador de demostración' }).click();
  await admin.getByTestId('flags').waitFor();
  assert.deepEqual(await axe(admin), []);
  await admin.getByRole('tab', { name: 'Tablero' }).click();
  await admin.getByTestId('dashboard').waitFor();
  assert.deepEqual(await axe(admin), []);
  await admin.context().close();
});

test('the dashboard shows payments, success rate and the A/B comparison', async () => {
  const admin = await page();
  await admin.goto(server.base + '/flags/');
  await admin.getByRole('button', { name: 'Ingresar como administrador de demostración' }).click();
  await admin.getByRole('tab', { name: 'Tablero' }).click();
  const board = admin.getByTestId('dashboard');
  await board.waitFor();
  const figures = await api(server.base, ADMIN, 'GET', '/v1/dashboard?days=14');
  assert.ok(figures.payments >= 3, JSON.stringify(figures));
  assert.notEqual(await admin.getByTestId('success-rate').textContent(), '—');
  // One bar per variant, with exposures and conversions.
  const ab = board.locator('bp-bar-chart[data-testid="ab"]');
  assert.equal(await ab.locator('rect').count(), figures.experiment.length);
  assert.ok(figures.experiment.some((v) => v.variant === 'b' && v.converted >= 1));
  await admin.context().close();
});

test('a signed-in customer holds no secret a script can read, and signing out ends the session', async () => {
  const customer = await newCustomer(server.base);
  const p = await page();
  await signIn(p, customer);
  await p.getByTestId('balances').waitFor();
  const [cookie] = (await p.context().cookies()).filter((c) => c.name === 'billpay_session');
  assert.ok(cookie, 'the session cookie is set');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Lax');
  const seen = await p.evaluate(() => ({
    cookie: document.cookie,
    storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
  }));
  assert.ok(!seen.cookie.includes('billpay_session'), `document.cookie shows the session: ${seen.cookie}`);
  assert.ok(!seen.cookie.includes(cookie.value));
  assert.ok(!seen.storage.includes(cookie.value), 'the token is not in storage');
  assert.ok(!/bpk_/.test(seen.storage), `an API key is in storage: ${seen.storage}`);
  assert.ok(!(await p.content()).includes('Clave de API'), 'no screen asks for an API key');

  // Signing out ends the session on the server: the old cookie no longer works.
  await p.getByRole('button', { name: 'Salir' }).click();
  await p.getByLabel('Correo electrónico').waitFor();
  const resp = await fetch(server.base + '/v1/me', { headers: { cookie: `billpay_session=${cookie.value}` } });
  assert.equal(resp.status, 401);
  await p.context().close();
});

test('a customer sees where they are signed in and signs out everywhere', async () => {
  const customer = await newCustomer(server.base);
  const phone = await page();
  await signIn(phone, customer);
  await phone.getByTestId('balances').waitFor();
  const laptop = await page();
  await signIn(laptop, customer);
  const sessions = laptop.getByTestId('sessions');
  await sessions.getByText('Este navegador').waitFor();
  await laptop.waitForFunction(() => {
    const app = document.querySelector('bp-customer-app');
    return app?.shadowRoot?.querySelector('bp-sessions')?.shadowRoot?.querySelectorAll('li').length === 2;
  });
  await laptop.getByRole('button', { name: 'Cerrar sesión en todos los dispositivos' }).click();
  await laptop.getByLabel('Correo electrónico').waitFor();
  // The phone's session ended too: its next load asks it to sign in.
  await phone.reload();
  await phone.getByLabel('Correo electrónico').waitFor();
  await phone.context().close();
  await laptop.context().close();
});

test('the demo signs a demo customer in with one click', async () => {
  const p = await page();
  await p.goto(server.base + '/');
  await p.getByRole('button', { name: 'Ingresar como Ana Gómez' }).click();
  await p.locator('main[data-variant]').waitFor();
  await p.getByTestId('balances').waitFor();
  await p.context().close();
});

test('a page cannot forge its exposure: the server evaluates the variant itself', async () => {
  await setRollout(server.base, 50);
  const customer = await newCustomer(server.base);
  const p = await page();
  const landed = await signIn(p, customer);
  const before = (await api(server.base, ADMIN, 'GET', '/v1/dashboard?days=1')).experiment;
  const forged = await p.evaluate(async () => {
    const r = await fetch('/v1/flag-sets/billpay-web/exposures', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ flag: 'frontend-variant', variant: 'b' }),
    });
    return [r.status, (await r.json()).code];
  });
  assert.deepEqual(forged, [422, 'invalid_body']);
  const asked = await p.evaluate(() =>
    fetch('/v1/flag-sets/billpay-web/exposures', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ flag: 'frontend-variant' }),
    }).then((r) => r.json()),
  );
  // The server's own evaluation, recorded when the customer landed; asking again changes nothing.
  assert.equal(`/${asked.variant}/`, landed);
  assert.equal(asked.recorded, false);
  assert.deepEqual((await api(server.base, ADMIN, 'GET', '/v1/dashboard?days=1')).experiment, before);
  await p.context().close();
});

test("a returning customer's bills are asked for as the page starts, once; a signed-out page asks for no account data", async () => {
  await setRollout(server.base, 0);
  const customer = await newCustomer(server.base);
  const { biller } = await billerWithBill(server.base, '300101');
  await api(server.base, ADMIN, 'POST', '/v1/bills', {
    biller_id: biller.id,
    reference: '300102',
    customer_name: customer.name,
    customer_id: customer.id,
    amount_due: 4_500_000,
    currency: 'COP',
    due_date: new Date(Date.now() + 10 * 86400_000).toISOString().slice(0, 10),
  });
  const p = await page();
  const asked = [];
  p.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/v1/')) asked.push(u.pathname + u.search);
  });
  const home = '/v1/bills?limit=100';

  // Signed out: the page asks who is there, and for nothing of an account.
  await p.goto(server.base + '/a/');
  await p.getByLabel('Correo electrónico').waitFor();
  assert.ok(asked.includes('/v1/me'));
  assert.deepEqual(asked.filter((u) => u.startsWith('/v1/bills') || u.startsWith('/v1/billers')), []);

  // Back after signing in: the bills are asked for before the session's answer is in (not after
  // it, a round trip later), and the home takes that answer instead of asking again.
  await signIn(p, customer);
  await p.waitForLoadState('networkidle');
  asked.length = 0;
  const plansRead = p.waitForResponse((r) => r.url().endsWith('/v1/notifications?limit=20'));
  await p.reload();
  await p.locator('bp-bills li[data-bill]').waitFor();
  await plansRead;
  const order = `asked, in order: ${asked.join(', ')}`;
  assert.ok(asked.indexOf(home) >= 0 && asked.indexOf(home) < asked.indexOf('/v1/me'), order);
  // Twice in all: as the page started (the list above), and by the plans section below it.
  assert.equal(asked.filter((u) => u === home).length, 2, order);

  // Signed out again, the next visit asks for no account data.
  await p.getByRole('button', { name: 'Salir' }).click();
  await p.getByLabel('Correo electrónico').waitFor();
  asked.length = 0;
  await p.reload();
  await p.getByLabel('Correo electrónico').waitFor();
  assert.deepEqual(asked.filter((u) => u.startsWith('/v1/bills') || u.startsWith('/v1/billers')), []);
  await p.context().close();
});

for (const variant of ['a', 'b']) {
test(`app ${variant.toUpperCase()}: the customer's home lists the bills in their name, overdue first, and pays one from there`, async () => {
  await setRollout(server.base, variant === 'b' ? 100 : 0);
  const customer = await newCustomer(server.base);
  const { biller } = await billerWithBill(server.base, '300001');
  const past = new Date(Date.now() - 3 * 86400_000).toISOString().slice(0, 10);
  const later = new Date(Date.now() + 20 * 86400_000).toISOString().slice(0, 10);
  const mine = async (reference, due, amount) =>
    api(server.base, ADMIN, 'POST', '/v1/bills', {
      biller_id: biller.id,
      reference,
      customer_name: customer.name,
      customer_id: customer.id,
      amount_due: amount,
      currency: 'COP',
      due_date: due,
    });
  const late = await mine('300002', past, 4_000_000);
  await mine('300003', later, 6_000_000);
  const p = await page();
  assert.equal(await signIn(p, customer), `/${variant}/`);
  const bills = p.getByTestId('bills');
  await bills.waitFor();
  const rows = bills.locator('li');
  assert.equal(await rows.count(), 2, 'only the bills in their name');
  assert.match(await rows.nth(0).textContent(), /300002[\s\S]*\$\u00a040\.000[\s\S]*Vencida desde/);
  assert.match(await rows.nth(1).textContent(), /Vence el/);
  await rows.nth(0).getByRole('button', { name: 'Pagar' }).click();
  assert.equal(await p.getByTestId('outstanding').textContent(), '$\u00a040.000');
  if (variant === 'a') {
    await p.getByRole('button', { name: 'Revisar pago' }).click();
    await p.getByRole('button', { name: 'Confirmar y pagar' }).click();
  } else {
    await p.getByRole('button', { name: 'Pagar ahora' }).click();
  }
  await p.getByTestId('paid').waitFor();
  const paid = (await api(server.base, ADMIN, 'GET', `/v1/payments?customer_id=${customer.id}`)).data;
  assert.deepEqual(paid.map((x) => x.bill_id), [late.id]);
  // What they paid this month, by category, as a chart (and its table).
  await p.waitForFunction(() => {
    const history = document.querySelector('bp-customer-app')?.shadowRoot?.querySelector('bp-history');
    const chart = history?.shadowRoot?.querySelector('bp-bar-chart[data-testid=spending]');
    return chart?.shadowRoot?.textContent?.includes('Acueducto') && chart.shadowRoot.textContent.includes('$\u00a040.000');
  });
  // The paid bill leaves the list.
  await p.waitForFunction(
    () =>
      document.querySelector('bp-customer-app')?.shadowRoot?.querySelector('bp-bills')?.shadowRoot?.querySelectorAll('li').length === 1,
  );
  await p.context().close();
});
}

for (const variant of ['a', 'b']) {
test(`app ${variant.toUpperCase()}: a customer schedules a payment and cancels it, turns autopay on with a cap, is told when it skips a bill and when a scheduled payment fails, and turns autopay off`, async () => {
  await setRollout(server.base, variant === 'b' ? 100 : 0);
  const customer = await newCustomer(server.base);
  const { biller } = await billerWithBill(server.base, '400001');
  const due = new Date(Date.now() + 10 * 86400_000).toISOString().slice(0, 10);
  await api(server.base, ADMIN, 'POST', '/v1/bills', {
    biller_id: biller.id,
    reference: '400002',
    customer_name: customer.name,
    customer_id: customer.id,
    amount_due: 9_000_000,
    currency: 'COP',
    due_date: due,
  });
  const p = await page();
  assert.equal(await signIn(p, customer), `/${variant}/`);
  await p.getByRole('heading', { name: 'Pagos programados y débito automático' }).waitFor();
  await p.locator('#plan-bill').waitFor();
  assert.deepEqual(await axe(p), [], 'the forms are accessible');

  // Schedule for tomorrow, see it listed, cancel it.
  const tomorrow = new Date(Date.now() + 86400_000 + 5 * 3600_000).toISOString().slice(0, 10);
  await p.locator('#plan-date').fill(tomorrow);
  await p.getByRole('button', { name: 'Programar pago' }).click();
  await p.getByText('Pago programado.').waitFor();
  const scheduled = p.getByTestId('scheduled');
  assert.match(await scheduled.textContent(), /\$\u00a090\.000/);
  const listed = (await api(server.base, ADMIN, 'GET', `/v1/scheduled-payments?customer_id=${customer.id}`)).data;
  assert.equal(listed.length, 1);
  assert.equal(listed[0].execute_on, tomorrow);
  await scheduled.getByRole('button', { name: 'Cancelar' }).click();
  await p.getByText('Pago programado cancelado.').waitFor();
  assert.equal((await api(server.base, ADMIN, 'GET', `/v1/scheduled-payments/${listed[0].id}`)).status, 'cancelled');

  // Autopay with a cap; next month's bill is over it, so autopay skips it and says so.
  await p.locator('#auto-days').fill('3');
  await p.locator('#auto-cap').fill('50.000');
  await p.getByRole('button', { name: 'Activar débito automático' }).click();
  await p.getByText('Débito automático activado.').waitFor();
  assert.match(await p.getByTestId('autopay').textContent(), /400002[\s\S]*hasta \$\u00a050\.000/);
  const nextMonth = new Date(Date.now() + 40 * 86400_000).toISOString().slice(0, 10);
  await api(server.base, ADMIN, 'POST', '/v1/bills', {
    biller_id: biller.id,
    reference: '400002',
    customer_name: customer.name,
    customer_id: customer.id,
    amount_due: 9_500_000,
    currency: 'COP',
    due_date: nextMonth,
  });
  let notices = [];
  for (let i = 0; i < 100 && notices.length === 0; i++) {
    notices = (await api(server.base, ADMIN, 'GET', `/v1/notifications?customer_id=${customer.id}`)).data;
    if (notices.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(notices[0]?.kind, 'autopay.skipped');
  await p.reload();
  await p.getByTestId('notices').getByText('El débito automático no pagó una factura que superaba tu tope.').waitFor();
  assert.equal((await api(server.base, ADMIN, 'GET', `/v1/payments?customer_id=${customer.id}`)).data.length, 0);

  // A payment scheduled for today that the wallet cannot cover fails, and the customer is told.
  const todayInBogota = new Date(Date.now() - 5 * 3600_000).toISOString().slice(0, 10);
  const large = await api(server.base, ADMIN, 'POST', '/v1/bills', {
    biller_id: biller.id,
    reference: '400003',
    customer_name: customer.name,
    customer_id: customer.id,
    amount_due: 500_000_000,
    currency: 'COP',
    due_date: nextMonth,
  });
  const doomed = await api(server.base, ADMIN, 'POST', '/v1/scheduled-payments', {
    bill_id: large.id,
    amount: 500_000_000,
    currency: 'COP',
    execute_on: todayInBogota,
    customer_id: customer.id,
  });
  for (let i = 0; i < 100 && notices.length < 2; i++) {
    notices = (await api(server.base, ADMIN, 'GET', `/v1/notifications?customer_id=${customer.id}`)).data;
    if (notices.length < 2) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(notices.some((n) => n.kind === 'scheduled_payment.failed' && n.subject_id === doomed.id), JSON.stringify(notices));
  await p.reload();
  await p.getByTestId('notices').getByText('Un pago programado no se pudo hacer.').waitFor();
  assert.deepEqual(await axe(p), [], 'the notices are accessible');

  await p.getByTestId('autopay').getByRole('button', { name: 'Desactivar' }).click();
  await p.getByText('Débito automático desactivado.').waitFor();
  const enrolments = (await api(server.base, ADMIN, 'GET', `/v1/autopay?customer_id=${customer.id}`)).data;
  assert.deepEqual(enrolments.map((a) => a.status), ['cancelled']);
  await p.context().close();
});
}

for (const variant of ['a', 'b']) {
test(`app ${variant.toUpperCase()}: a customer files a complaint about a payment, the biller answers, and the customer sees the answer and closes it`, async () => {
  await setRollout(server.base, variant === 'b' ? 100 : 0);
  const customer = await newCustomer(server.base);
  const { biller, bill } = await billerWithBill(server.base, '500001');
  const paid = await api(server.base, ADMIN, 'POST', '/v1/payments', {
    bill_id: bill.id,
    amount: 2_000_000,
    currency: 'COP',
    customer_id: customer.id,
  });
  const p = await page();
  assert.equal(await signIn(p, customer), `/${variant}/`);
  await p.getByRole('heading', { name: 'Reclamos' }).waitFor();
  await p.locator('#complaint-payment').selectOption(paid.id);
  await p.locator('#complaint-type').selectOption('paid_not_credited');
  await p.locator('#complaint-description').fill('Pagué y la factura sigue pendiente');
  await p.getByRole('button', { name: 'Enviar reclamo' }).click();
  await p.getByText('Reclamo enviado.', { exact: false }).waitFor();
  const filed = (await api(server.base, ADMIN, 'GET', `/v1/complaints?biller_id=${biller.id}`)).data;
  assert.equal(filed.length, 1);
  assert.equal(filed[0].payment_id, paid.id);
  assert.equal(filed[0].type, 'paid_not_credited');
  assert.match(await p.getByTestId('complaints').textContent(), /Pagué y no aparece abonado[\s\S]*abierto/);

  await api(server.base, ADMIN, 'POST', `/v1/complaints/${filed[0].id}/respond`, { message: 'El pago quedó aplicado el mismo día' });
  await p.reload();
  await p.getByTestId('complaint-response').getByText('El pago quedó aplicado el mismo día', { exact: false }).waitFor();
  await p.getByTestId('notices').getByText('Hay novedades en uno de tus reclamos.').first().waitFor();
  assert.deepEqual(await axe(p), [], 'the complaints section is accessible');
  await p.getByTestId('complaints').getByRole('button', { name: 'Cerrar reclamo' }).click();
  await p.getByText('Reclamo cerrado.').waitFor();
  assert.equal((await api(server.base, ADMIN, 'GET', `/v1/complaints/${filed[0].id}`)).status, 'closed');
  await p.context().close();
});
}
