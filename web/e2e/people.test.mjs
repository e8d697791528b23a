// End-to-end sign-in as people do it: a customer with a passkey in Chromium's virtual
// authenticator, and staff through a real OpenID provider (oidc-provider) on loopback.
// Pages are opened on http://localhost:PORT, since passkeys refuse a bare IP address.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN, api, billerWithBill, freePort, launch, newPage, setRollout, startServer } from './harness.mjs';
import { oidcArgs, signInAtIdp, startIdp } from './idp.mjs';

let server;
let idp;
let browser;
let site;

before(async () => {
  const port = await freePort();
  const idpPort = await freePort();
  site = `http://localhost:${port}`;
  idp = await startIdp(idpPort, `${site}/v1/auth/oidc/callback`);
  server = await startServer({
    port,
    args: oidcArgs(idp, site),
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await idp?.stop();
});

/** A fresh browser profile (no session, Spanish by default). */
const page = () => newPage(browser);

/** Chromium's virtual authenticator: a platform passkey store with user verification. */
async function withAuthenticator(p) {
  const cdp = await p.context().newCDPSession(p);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  return { cdp, authenticatorId };
}

async function signInByCode(p, email) {
  await p.getByLabel('Correo electrónico').fill(email);
  await p.getByRole('button', { name: 'Enviar código' }).click();
  const code = await server.codeFor(email);
  await p.getByLabel('Código de 6 dígitos').fill(code);
  await p.getByRole('button', { name: 'Ingresar', exact: true }).click();
  await p.locator('main[data-variant]').waitFor();
  await p.getByRole('button', { name: 'Salir' }).waitFor();
}

async function secretsInPage(p) {
  return p.evaluate(() => ({
    cookie: document.cookie,
    storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
  }));
}

test('a new customer signs up by e-mail, registers a passkey, signs in with it, pays, and falls back to a code', async () => {
  await setRollout(server.base, 0);
  const { biller } = await billerWithBill(server.base, '200001');
  const email = `passkey${Date.now()}@example.com`;
  const p = await page();
  const { cdp, authenticatorId } = await withAuthenticator(p);

  // 1. Sign up: the code proves the address and opens the account.
  await p.goto(site + '/');
  await signInByCode(p, email);
  const me = await p.evaluate(() => fetch('/v1/me').then((r) => r.json()));
  assert.equal(me.role, 'customer');
  await api(server.base, ADMIN, 'POST', `/v1/customers/${me.customer_id}/wallet/topups`, { amount: 50_000_000, currency: 'COP' });

  // 2. Register a passkey; it is listed.
  await p.getByTestId('add-passkey').click();
  await p.getByText('Llave de acceso creada.').waitFor();
  await p.getByTestId('passkeys').locator('li').first().waitFor();
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.equal(credentials[0].isResidentCredential, true, 'a discoverable passkey');

  // Sign out, then sign in with the passkey alone: no address typed, no e-mail.
  await p.getByRole('button', { name: 'Salir' }).click();
  await p.getByTestId('passkey-signin').click();
  await p.locator('main[data-variant]').waitFor();
  await p.getByTestId('balances').waitFor();
  const again = await p.evaluate(() => fetch('/v1/me').then((r) => r.json()));
  assert.equal(again.customer_id, me.customer_id);
  const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.ok(after.credentials[0].signCount >= 1, 'the authenticator signed');

  // 3. Pay a bill.
  await p.getByLabel('Nombre o categoría').fill(biller.name);
  await p.getByRole('button', { name: new RegExp(biller.name) }).click();
  await p.getByLabel('Referencia de pago').fill('200001');
  await p.getByRole('button', { name: 'Consultar' }).click();
  await p.getByRole('button', { name: 'Revisar pago' }).click();
  await p.getByRole('button', { name: 'Confirmar y pagar' }).click();
  assert.match(await p.getByTestId('paid').textContent(), /Pago exitoso/);
  const paid = (await api(server.base, ADMIN, 'GET', `/v1/payments?customer_id=${me.customer_id}`)).data;
  assert.equal(paid.length, 1);

  // Nothing secret is readable by a script, after any of these sign-ins.
  const seen = await secretsInPage(p);
  assert.ok(!seen.cookie.includes('billpay_session'), seen.cookie);
  assert.ok(!/bpk_|billpay_session|[0-9a-f]{64}/.test(seen.storage), seen.storage);

  // 4. The e-mail code still works as the fallback (a lost phone).
  await p.getByRole('button', { name: 'Salir' }).click();
  await signInByCode(p, email);
  const audit = await api(server.base, ADMIN, 'GET', `/v1/audit-events?subject=${me.customer_id}&action=signed%20in&limit=100`);
  const mine = audit.data.map((e) => e.detail.method);
  assert.deepEqual(mine.sort(), ['email_code', 'email_code', 'passkey']);
  await p.context().close();
});

/** Goes through the provider's own sign-in and consent pages as `login`. */
async function ssoSignIn(p, login) {
  await p.goto(site + '/flags/');
  await p.getByTestId('sso').click();
  await signInAtIdp(p, login);
  await p.waitForURL(`${site}/flags/`);
}

test('an admin signs in through single sign-on and switches a flag off; nothing secret is in the page', async () => {
  await api(server.base, ADMIN, 'POST', '/v1/staff', { email: 'lucia@staff.test', name: 'Lucía', role: 'admin' });
  const p = await page();
  await ssoSignIn(p, 'lucia');
  const killSwitch = p.getByRole('switch', { name: 'Encendido: frontend-variant' });
  assert.equal(await killSwitch.isChecked(), true);
  await killSwitch.uncheck();
  await p.getByTestId('message').filter({ hasText: /Guardado/ }).waitFor();
  const set = await api(server.base, ADMIN, 'GET', '/v1/flag-sets/billpay-web');
  assert.equal(set.definition.flags['frontend-variant'].state, 'DISABLED');
  await api(server.base, ADMIN, 'PUT', '/v1/flag-sets/billpay-web/flags/frontend-variant', {
    ...set.definition.flags['frontend-variant'],
    state: 'ENABLED',
  });

  // The change is the staff member's, in the audit log.
  const staff = (await api(server.base, ADMIN, 'GET', '/v1/staff')).data.find((s) => s.email === 'lucia@staff.test');
  assert.equal(staff.bound, true);
  const seen = await secretsInPage(p);
  assert.ok(!seen.cookie.includes('billpay_session') && !/bpk_/.test(seen.storage), JSON.stringify(seen));
  assert.ok(!(await p.content()).includes('Clave de API'));
  const [cookie] = (await p.context().cookies()).filter((c) => c.name === 'billpay_session');
  assert.equal(cookie.httpOnly, true);

  // A cross-site POST with the cookie is refused, and nothing changes.
  const forged = await fetch(`${server.base}/v1/staff`, {
    method: 'POST',
    headers: { cookie: `billpay_session=${cookie.value}`, origin: 'https://evil.example', 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'mallory@evil.example', name: 'Mallory', role: 'admin' }),
  });
  assert.equal(forged.status, 403);
  assert.equal((await forged.json()).code, 'csrf_refused');
  const list = (await api(server.base, ADMIN, 'GET', '/v1/staff')).data;
  assert.ok(!list.some((s) => s.email === 'mallory@evil.example'));

  // After signing out, the old cookie is worth nothing.
  await p.getByRole('button', { name: 'Salir' }).click();
  await p.getByTestId('sso').waitFor();
  const reuse = await fetch(`${server.base}/v1/me`, { headers: { cookie: `billpay_session=${cookie.value}` } });
  assert.equal(reuse.status, 401);
  await p.context().close();
});

test("a biller's staff member signs in and sees only that biller's data", async () => {
  await api(server.base, ADMIN, 'POST', '/v1/staff', {
    email: 'maria@staff.test',
    name: 'María',
    role: 'biller',
    biller_id: 'blr_demo_energia',
  });
  const p = await page();
  await ssoSignIn(p, 'maria');
  // The flags admin is not for them.
  await p.getByText('Tu cuenta no es de administrador').waitFor();
  const seen = await p.evaluate(async () => ({
    me: await fetch('/v1/me').then((r) => r.json()),
    payments: await fetch('/v1/payments?limit=100').then((r) => r.json()),
    customers: (await fetch('/v1/customers')).status,
    staff: (await fetch('/v1/staff')).status,
  }));
  assert.equal(seen.me.role, 'biller');
  assert.equal(seen.me.biller_id, 'blr_demo_energia');
  assert.ok(seen.payments.data.every((x) => x.biller_id === 'blr_demo_energia'), JSON.stringify(seen.payments.data));
  const all = (await api(server.base, ADMIN, 'GET', '/v1/payments?limit=100')).data;
  assert.ok(all.some((x) => x.biller_id !== 'blr_demo_energia'), 'other billers have payments this person does not see');
  assert.equal(seen.customers, 403);
  assert.equal(seen.staff, 403);
  await p.context().close();
});

test('a person the issuer knows but BillPay does not is refused, and a forged state is refused', async () => {
  const p = await page();
  await p.goto(site + '/flags/');
  await p.getByTestId('sso').click();
  await signInAtIdp(p, 'stranger');
  await p.waitForURL(/\/v1\/auth\/oidc\/callback/);
  const problem = JSON.parse(await p.locator('body').textContent());
  assert.equal(problem.code, 'not_staff');
  const [cookie] = (await p.context().cookies()).filter((c) => c.name === 'billpay_session');
  assert.equal(cookie, undefined, 'no session was opened');

  const forged = await fetch(`${server.base}/v1/auth/oidc/callback?state=forged&code=whatever`);
  assert.equal(forged.status, 400);
  assert.equal((await forged.json()).code, 'sign_in_state_invalid');
  await p.context().close();
});
