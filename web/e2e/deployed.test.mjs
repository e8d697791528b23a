// The deployed bytes, in the production topology: `billpayctl deploy frontend` uploads each app's
// own build and its config.json to its (moto) S3 bucket; each bucket is served as its CloudFront
// distribution would serve it (cloudfront.mjs), on an origin of its own; the API is on a fourth.
// A customer opens app A's address, signs in, is sent to the app the A/B test assigns, and pays;
// an admin signs in to the flags app through single sign-on and turns the kill switch; the
// customer is then sent to A; a biller's staff member signs in to the biller portal, on its own
// origin, and uploads bills. A request the CSP or CORS blocks fails the test.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { distributionOf, serveBucket } from './cloudfront.mjs';
import { ADMIN, FLAGS_CLIENT, api, billerWithBill, freePort, launch, listening, newCustomer, setRollout, startServer } from './harness.mjs';
import { oidcArgs, signInAtIdp, startIdp } from './idp.mjs';

const repo = resolve(new URL('.', import.meta.url).pathname, '../..');
const ENV = 'dev';
const APPS = ['billpay-frontend-a', 'billpay-frontend-b', 'billpay-feature-flags', 'billpay-biller-portal'];

let moto;
let endpoint;
let server;
let idp;
let browser;
let apiOrigin;
const sites = {};
const origins = {};

function tool(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (./dev test sets it)`);
  return v;
}

const awsEnv = () => ({
  ...process.env,
  AWS_ENDPOINT_URL: endpoint,
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
});

/** Runs a boto3 snippet against moto; it prints one JSON document. */
function boto(script) {
  const prelude = "import boto3, json, sys\nkw = dict(endpoint_url=sys.argv[1], region_name='us-east-1')\ns3 = boto3.client('s3', **kw)\ncf = boto3.client('cloudfront', **kw)\n";
  return JSON.parse(execFileSync(tool('BILLPAY_MOTO_PYTHON'), ['-c', prelude + script, endpoint], { env: awsEnv(), encoding: 'utf8' }));
}

/** `billpayctl deploy frontend` for `app`, from its default build folder; returns what it printed. */
function deploy(app) {
  const bin = process.env.BILLPAY_CTL_BIN ?? resolve(repo, 'target/debug/billpayctl');
  const args = ['deploy', 'frontend', '--app', app, '--env', ENV, '--api-origin', apiOrigin, '--sso', '--flags-key', FLAGS_CLIENT];
  for (const a of ['billpay-frontend-a', 'billpay-frontend-b']) args.push('--app-origin', `${a}=${origins[a]}`);
  return execFileSync(bin, args, { cwd: repo, env: awsEnv(), encoding: 'utf8' });
}

function filesOf(dir, sub = '') {
  return readdirSync(join(dir, sub), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesOf(dir, join(sub, e.name)) : [join(sub, e.name)],
  );
}

before(async () => {
  const motoPort = await freePort();
  moto = spawn(tool('BILLPAY_MOTO_SERVER'), ['-H', '127.0.0.1', '-p', String(motoPort)], { stdio: 'ignore' });
  endpoint = `http://127.0.0.1:${motoPort}`;
  await listening(motoPort);
  const ports = {};
  for (const app of APPS) {
    ports[app] = await freePort();
    origins[app] = `http://localhost:${ports[app]}`;
  }
  const apiPort = await freePort();
  apiOrigin = `http://localhost:${apiPort}`;
  const idpPort = await freePort();
  idp = await startIdp(idpPort, `${apiOrigin}/v1/auth/oidc/callback`);
  // The API, with CORS (and the session's origin check) for exactly the apps' origins.
  server = await startServer({
    port: apiPort,
    args: ['--cors-origin', APPS.map((a) => origins[a]).join(','), ...oidcArgs(idp, apiOrigin)],
  });
  boto(
    `for app in ${JSON.stringify(APPS)}:\n` +
      "  s3.create_bucket(Bucket=app)\n" +
      // The module lets only its distribution read the bucket (origin access control); the
      // stand-in reads it unsigned, so the bucket policy grants that reader the same one action.
      "  s3.put_bucket_policy(Bucket=app, Policy=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': '*', 'Action': 's3:GetObject', 'Resource': f'arn:aws:s3:::{app}/*'}]}))\n" +
      "  cf.create_distribution(DistributionConfig={'CallerReference': app, 'Comment': app, 'Enabled': True,\n" +
      "    'Origins': {'Quantity': 1, 'Items': [{'Id': 's3', 'DomainName': app + '.s3.amazonaws.com', 'S3OriginConfig': {'OriginAccessIdentity': ''}}]},\n" +
      "    'DefaultCacheBehavior': {'TargetOriginId': 's3', 'ViewerProtocolPolicy': 'redirect-to-https', 'MinTTL': 0,\n" +
      "      'ForwardedValues': {'QueryString': False, 'Cookies': {'Forward': 'none'}}, 'TrustedSigners': {'Enabled': False, 'Quantity': 0}}})\n" +
      'print(json.dumps(True))',
  );
  for (const app of APPS) {
    deploy(app);
    sites[app] = await serveBucket({ port: ports[app], endpoint, bucket: app, distribution: distributionOf(app, ENV, apiOrigin) });
  }
  browser = await launch();
});

after(async () => {
  await browser?.close();
  for (const s of Object.values(sites)) await s.stop();
  await server?.stop();
  await idp?.stop();
  moto?.kill();
});

/**
 * A fresh browser profile whose pages fail the test on a script error, a request that fails
 * (CORS refusals are failed requests), or anything the CSP refuses.
 */
async function page() {
  const context = await browser.newContext({ locale: 'es-CO' });
  const blocked = [];
  context.on('requestfailed', (r) => {
    // What a page cancels when it goes on to the other app (its own navigation, the favicon) is
    // aborted, not blocked: CORS refusals fail as ERR_FAILED, CSP ones as ERR_BLOCKED_BY_CSP.
    if (r.failure()?.errorText === 'net::ERR_ABORTED') return;
    // The identity provider's own sign-in page is not BillPay's (it asks for a web font).
    if (r.frame().url().startsWith(idp.issuer)) return;
    blocked.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP refused ${e.blockedURI} (${e.violatedDirective})`);
    });
  });
  const p = await context.newPage();
  p.on('pageerror', (e) => blocked.push(`page error: ${e.message}`));
  p.on('console', (m) => {
    if (m.type() === 'error' && /CSP|Content Security Policy|CORS|Access-Control/i.test(m.text())) blocked.push(m.text());
  });
  return { p, blocked, context };
}

test('each app is deployed with its own build and config.json only; a second deploy uploads nothing', () => {
  const held = boto(
    `print(json.dumps({a: sorted(o['Key'] for o in s3.list_objects_v2(Bucket=a).get('Contents', [])) for a in ${JSON.stringify(APPS)}}))`,
  );
  for (const app of APPS) {
    const built = filesOf(join(repo, 'web/dist', app));
    assert.deepEqual(held[app], [...built, '.billpay-deploy.json', 'config.json'].sort(), `${app}'s bucket`);
  }
  const config = boto("print(s3.get_object(Bucket='billpay-frontend-b', Key='config.json')['Body'].read().decode())");
  assert.deepEqual(config, {
    apiBase: apiOrigin,
    flagSet: 'billpay-web',
    flagsKey: FLAGS_CLIENT,
    appId: 'billpay-frontend-b',
    sso: true,
    variants: { a: `${origins['billpay-frontend-a']}/`, b: `${origins['billpay-frontend-b']}/` },
  });
  const again = deploy('billpay-frontend-b');
  assert.match(again, /0 to upload, 0 to delete, \d+ unchanged/, again);
});

test('the distribution answers with the security headers, the SPA fallback and no API origin but its own', async () => {
  const site = origins['billpay-frontend-a'];
  const home = await fetch(`${site}/`);
  assert.equal(home.status, 200);
  assert.equal(home.headers.get('x-frame-options'), 'DENY');
  assert.equal(home.headers.get('x-content-type-options'), 'nosniff');
  const csp = home.headers.get('content-security-policy');
  assert.ok(csp.includes(`connect-src 'self' ${apiOrigin};`), csp);
  const deep = await fetch(`${site}/no/such/page`);
  assert.equal(deep.status, 200, 'unknown paths answer index.html');
  assert.match(await deep.text(), /<bp-customer-app variant="a">/);
});

test('a customer opens app A, is sent to B by the A/B test, pays; after the kill switch, B sends them to A', async () => {
  await setRollout(server.base, 100);
  const customer = await newCustomer(server.base);
  const { biller } = await billerWithBill(server.base, '300001');
  const a = origins['billpay-frontend-a'];
  const b = origins['billpay-frontend-b'];

  const { p, blocked, context } = await page();
  await p.goto(`${a}/`);
  await p.getByLabel('Correo electrónico').fill(customer.email);
  await p.getByRole('button', { name: 'Enviar código' }).click();
  await p.getByLabel('Código de 6 dígitos').fill(await server.codeFor(customer.email));
  await p.getByRole('button', { name: 'Ingresar', exact: true }).click();
  await p.locator('main[data-variant="b"]').waitFor();
  assert.equal(new URL(p.url()).origin, b, 'sent to app B');

  await p.getByLabel('Nombre o categoría').fill(biller.name);
  await p.getByRole('button', { name: new RegExp(biller.name) }).click();
  await p.getByLabel('Referencia de pago').fill('300001');
  await p.getByRole('button', { name: 'Consultar' }).click();
  await p.getByTestId('outstanding').waitFor();
  await p.getByRole('button', { name: 'Pagar ahora' }).click();
  await p.getByTestId('paid').waitFor();
  const paid = (await api(server.base, ADMIN, 'GET', `/v1/payments?customer_id=${customer.id}`)).data;
  assert.equal(paid.length, 1);
  await p.getByRole('button', { name: 'Ver comprobante' }).click();
  await p.frameLocator('iframe[title="Comprobante de pago"]').getByText(paid[0].confirmation_number).waitFor();

  // Opening A again keeps the customer on B: the assignment sticks.
  await p.goto(`${a}/`);
  await p.locator('main[data-variant="b"]').waitFor();
  assert.equal(new URL(p.url()).origin, b);

  // An admin turns the experiment off in the flags app, signing in through single sign-on.
  await api(server.base, ADMIN, 'POST', '/v1/staff', { email: 'rosa@staff.test', name: 'Rosa', role: 'admin' });
  const admin = await page();
  await admin.p.goto(`${origins['billpay-feature-flags']}/`);
  await admin.p.getByTestId('sso').click();
  await signInAtIdp(admin.p, 'rosa');
  await admin.p.waitForURL(`${origins['billpay-feature-flags']}/`);
  const killSwitch = admin.p.getByRole('switch', { name: 'Encendido: frontend-variant' });
  assert.equal(await killSwitch.isChecked(), true);
  await killSwitch.uncheck();
  await admin.p.getByTestId('message').filter({ hasText: /Guardado/ }).waitFor();
  assert.deepEqual(admin.blocked, []);
  await admin.context.close();

  // Everyone goes to A now, this customer too.
  await p.goto(`${b}/`);
  await p.locator('main[data-variant="a"]').waitFor();
  assert.equal(new URL(p.url()).origin, a, 'the kill switch sends B to A');
  assert.deepEqual(blocked, []);
  await context.close();

  const set = await api(server.base, ADMIN, 'GET', '/v1/flag-sets/billpay-web');
  await api(server.base, ADMIN, 'PUT', '/v1/flag-sets/billpay-web/flags/frontend-variant', {
    ...set.definition.flags['frontend-variant'],
    state: 'ENABLED',
  });
});

test("a biller's staff member signs in to the biller portal on its own origin and uploads bills", async () => {
  const portal = origins['billpay-biller-portal'];
  const { biller } = await billerWithBill(server.base, '900001');
  await api(server.base, ADMIN, 'POST', '/v1/staff', { email: 'tomas@staff.test', name: 'Tomás', role: 'biller', biller_id: biller.id });
  const staff = await page();
  await staff.p.goto(`${portal}/`);
  await staff.p.getByTestId('sso').click();
  await signInAtIdp(staff.p, 'tomas');
  await staff.p.waitForURL(`${portal}/`);
  await staff.p.getByRole('heading', { level: 1, name: biller.name }).waitFor();
  await staff.p.getByRole('navigation').getByRole('button', { name: 'Facturas', exact: true }).click();
  const due = new Date(Date.now() + 20 * 86400_000).toISOString().slice(0, 10);
  const csv = `reference,customer_name,amount_due,due_date\n900002,Casa Norte,4500000,${due}\n`;
  await staff.p.locator('#bills-file').setInputFiles({ name: 'facturas.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await staff.p.getByRole('button', { name: 'Subir', exact: true }).click();
  await staff.p.getByText('1 facturas creadas.').waitFor();
  const bills = (await api(server.base, ADMIN, 'GET', `/v1/bills?biller_id=${biller.id}`)).data;
  assert.deepEqual(bills.map((b) => b.reference).sort(), ['900001', '900002']);
  assert.deepEqual(staff.blocked, []);
  await staff.context.close();
});
