// Each app's size budget, on its own build's bytes (web/dist/<app>/): the scripts and styles its
// page loads (what the HTML names: scripts, module preloads, stylesheets), gzipped as CloudFront
// serves them. A budget that is exceeded fails the test; raise it only knowingly.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';

const dist = resolve(new URL('.', import.meta.url).pathname, '../dist');

/** Gzipped kB of each app's assets; budgets in kB, about 30% over what they weighed (21, 21, 16, 24). */
const APPS = [
  { app: 'billpay-frontend-a', budget: 30 },
  { app: 'billpay-frontend-b', budget: 30 },
  { app: 'billpay-feature-flags', budget: 25 },
  { app: 'billpay-biller-portal', budget: 32 },
];

function assetsOf(app) {
  const html = readFileSync(join(dist, app, 'index.html'), 'utf8');
  const refs = [...html.matchAll(/<(?:script|link)\b[^>]*?(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((m) => m[1]);
  return [...new Set(refs)];
}

function filesOf(app, dir = '') {
  return readdirSync(join(dist, app, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesOf(app, join(dir, e.name)) : [join(dir, e.name)],
  );
}

function gzippedKb(app, assets) {
  return assets.reduce((sum, a) => sum + gzipSync(readFileSync(join(dist, app, a))).length, 0) / 1024;
}

for (const { app, budget } of APPS) {
  test(`${app} loads at most ${budget} kB gzipped`, () => {
    const assets = assetsOf(app);
    assert.ok(assets.length > 0, `${app}/index.html loads no assets`);
    const kb = gzippedKb(app, assets);
    console.log(`${app}: ${kb.toFixed(1)} kB gzipped in ${assets.length} files (budget ${budget} kB)`);
    assert.ok(kb <= budget, `${app} is ${kb.toFixed(1)} kB gzipped, over its ${budget} kB budget`);
  });
}

test("each app's build holds only its own page and what that page loads", () => {
  for (const { app } of APPS) {
    const files = filesOf(app).sort();
    const expected = ['favicon.svg', 'index.html', ...assetsOf(app)].sort();
    assert.deepEqual(files, expected, `${app} holds files its page does not load`);
  }
});

test('the flags admin holds none of the customer apps code, and the customer apps none of the admin', () => {
  const code = (app) => assetsOf(app).map((a) => readFileSync(join(dist, app, a), 'utf8')).join('\n');
  const admin = code('billpay-feature-flags');
  const customer = code('billpay-frontend-a');
  const portal = code('billpay-biller-portal');
  assert.ok(admin.includes('bp-flags-admin') && customer.includes('bp-customer-app') && portal.includes('bp-biller-portal'), 'the element names moved');
  assert.ok(!admin.includes('bp-customer-app') && !admin.includes('bp-signin'), 'the admin holds customer code');
  assert.ok(!customer.includes('bp-flags-admin') && !customer.includes('bp-biller-portal'), 'a customer app holds staff code');
  assert.ok(!portal.includes('bp-customer-app') && !portal.includes('bp-flags-admin'), 'the biller portal holds another app\'s code');
});

test('no deployment is built into a bundle: no origin, host or client key in any script', () => {
  // What differs between deployments comes from config.json; these are what a hard-coded one
  // would look like (the dev server, a domain of platform.toml, AWS names, a flags client key).
  const forbidden = [/localhost/, /127\.0\.0\.1/, /billpay\.example\.com/, /cloudfront\.net/, /amazonaws\.com/, /bpf_[a-z0-9]/i, /"\/config\.json"/];
  for (const { app } of APPS) {
    for (const asset of assetsOf(app)) {
      const text = readFileSync(join(dist, app, asset), 'utf8');
      for (const pattern of forbidden) {
        assert.ok(!pattern.test(text), `${app}/${asset} holds ${pattern}: a deployment setting built into the bundle`);
      }
    }
  }
});
