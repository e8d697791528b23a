// Each app's size budget, on the built bytes: the scripts and styles its page loads (what the
// HTML names: scripts, module preloads, stylesheets), gzipped as CloudFront serves them. A budget
// that is exceeded fails the test; raise it only knowingly.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';

const dist = resolve(new URL('.', import.meta.url).pathname, '../dist');

/** Gzipped kB of each page's assets; budgets in kB, about 30% over what they weighed (15, 23, 23, 18). */
const PAGES = [
  { page: 'index.html', app: 'entry (sign-in)', budget: 20 },
  { page: 'a/index.html', app: 'billpay-frontend-a', budget: 30 },
  { page: 'b/index.html', app: 'billpay-frontend-b', budget: 30 },
  { page: 'flags/index.html', app: 'billpay-feature-flags', budget: 25 },
];

function assetsOf(page) {
  const html = readFileSync(join(dist, page), 'utf8');
  const refs = [...html.matchAll(/<(?:script|link)\b[^>]*?(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  return [...new Set(refs)];
}

function gzippedKb(assets) {
  return assets.reduce((sum, a) => sum + gzipSync(readFileSync(join(dist, a))).length, 0) / 1024;
}

for (const { page, app, budget } of PAGES) {
  test(`${app} loads at most ${budget} kB gzipped`, () => {
    const assets = assetsOf(page);
    assert.ok(assets.length > 0, `${page} loads no assets`);
    const kb = gzippedKb(assets);
    console.log(`${app}: ${kb.toFixed(1)} kB gzipped in ${assets.length} files (budget ${budget} kB)`);
    assert.ok(kb <= budget, `${app} is ${kb.toFixed(1)} kB gzipped, over its ${budget} kB budget`);
  });
}

test('the flags admin loads none of the customer apps code, and the customer apps none of the admin', () => {
  const admin = assetsOf('flags/index.html');
  const customer = assetsOf('a/index.html');
  assert.ok(!admin.some((a) => /customer|bp-signin/.test(a)), admin.join(' '));
  assert.ok(!customer.some((a) => /flags-/.test(a)), customer.join(' '));
});
