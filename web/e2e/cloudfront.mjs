// Serves a bucket's objects as the frontend module's CloudFront distribution does: the default
// root object, the SPA fallback (custom error responses) and the security headers of its
// response-headers policy. All three are read from infra/modules/frontend/main.tf (through
// python-hcl2's hcl2tojson) and the app's rendered Terragrunt unit, so the test and the module
// cannot drift: a header block or an expression this reader does not know fails the test.

import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { resolve } from 'node:path';

const repo = resolve(new URL('.', import.meta.url).pathname, '../..');

function hcl(path) {
  const bin = process.env.BILLPAY_HCL2TOJSON;
  if (!bin) throw new Error('BILLPAY_HCL2TOJSON: python-hcl2 (./dev test installs it)');
  return JSON.parse(execFileSync(bin, ['--strip-string-quotes', resolve(repo, path)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** The first block of `type` named `name` among a hcl2tojson list of blocks. */
function block(list, type, name) {
  const found = list.find((b) => b[type]?.[name])?.[type][name];
  if (!found) throw new Error(`the frontend module has no ${type}.${name}`);
  return found;
}

/**
 * Evaluates the few expressions the module's header and fallback settings use, with `vars` as
 * the module's inputs: `${var.x}`, `${local.x}`, and `${var.x == "" ? "…" : "…"}` / `${var.x ? […] : […]}`.
 */
function evaluate(text, vars, locals) {
  const expr = (e) => {
    let m = e.match(/^var\.(\w+) == "" \? "(.*)" : "(.*)"$/s);
    if (m) return vars[m[1]] === '' ? m[2] : m[3];
    m = e.match(/^var\.(\w+) \? (\[.*\]) : (\[.*\])$/s);
    if (m) return JSON.parse(vars[m[1]] ? m[2] : m[3]);
    m = e.match(/^var\.(\w+)$/);
    if (m && m[1] in vars) return vars[m[1]];
    m = e.match(/^local\.(\w+)$/);
    if (m && m[1] in locals) return evaluate(locals[m[1]], vars, locals);
    throw new Error(`the frontend module has an expression the CloudFront stand-in cannot read: \${${e}}`);
  };
  if (typeof text !== 'string') return text;
  const whole = text.match(/^\$\{(.*)\}$/s);
  if (whole && !whole[1].includes('${')) return expr(whole[1]);
  // Innermost interpolations first, until none is left.
  let out = text;
  for (let i = 0; i < 10 && out.includes('${'); i++) {
    out = out.replace(/\$\{([^${}]*)\}/g, (_, e) => String(expr(e)));
  }
  if (out.includes('${')) throw new Error(`cannot evaluate ${text}`);
  return out;
}

const HEADERS = {
  strict_transport_security: (b) =>
    [
      'Strict-Transport-Security',
      [`max-age=${b.access_control_max_age_sec}`, b.include_subdomains && 'includeSubDomains', b.preload && 'preload']
        .filter(Boolean)
        .join('; '),
    ],
  content_type_options: () => ['X-Content-Type-Options', 'nosniff'],
  frame_options: (b) => ['X-Frame-Options', b.frame_option],
  referrer_policy: (b) => ['Referrer-Policy', b.referrer_policy],
  content_security_policy: (b, ev) => ['Content-Security-Policy', ev(b.content_security_policy)],
};

/**
 * What the distribution of `app` in `env` answers with: its headers, root object and fallback.
 * `apiOrigin` stands in for the unit's `api_origin` (the test's API runs on loopback).
 */
export function distributionOf(app, env, apiOrigin) {
  const unit = hcl(`infra/live/${env}/${app}/terragrunt.hcl`);
  const vars = { ...unit.inputs, api_origin: apiOrigin };
  const main = hcl('infra/modules/frontend/main.tf');
  const locals = Object.assign({}, ...main.locals);
  const ev = (t) => evaluate(t, vars, locals);
  const policy = block(main.resource, 'aws_cloudfront_response_headers_policy', 'security');
  const headers = {};
  for (const config of policy.security_headers_config) {
    for (const [name, blocks] of Object.entries(config)) {
      if (name === '__is_block__') continue;
      const make = HEADERS[name];
      if (!make) throw new Error(`the response-headers policy sets ${name}, which the CloudFront stand-in does not know`);
      const [header, value] = make(blocks[0], ev);
      headers[header] = value;
    }
  }
  const site = block(main.resource, 'aws_cloudfront_distribution', 'site');
  const errors = {};
  for (const d of site.dynamic ?? []) {
    const spec = d.custom_error_response;
    if (!spec) continue;
    const content = spec.content[0];
    for (const code of ev(spec.for_each)) {
      errors[code] = { status: content.response_code, page: content.response_page_path };
    }
  }
  return { headers, rootObject: site.default_root_object, errors };
}

/**
 * An HTTP server on `port` answering from `bucket` on the moto S3 endpoint as the distribution
 * would. Returns { origin, stop }.
 */
export async function serveBucket({ port, endpoint, bucket, distribution }) {
  const fetchObject = (key) => fetch(`${endpoint}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`);
  const server = createServer(async (req, res) => {
    try {
      const path = new URL(req.url, 'http://x').pathname;
      let key = path === '/' ? distribution.rootObject : decodeURIComponent(path.slice(1));
      let object = await fetchObject(key);
      let status = object.status;
      if (!object.ok && distribution.errors[status]) {
        const fallback = distribution.errors[status];
        key = fallback.page.slice(1);
        object = await fetchObject(key);
        status = fallback.status;
      }
      const body = Buffer.from(await object.arrayBuffer());
      const headers = { ...distribution.headers };
      for (const h of ['content-type', 'cache-control', 'etag', 'last-modified']) {
        const v = object.headers.get(h);
        if (v) headers[h] = v;
      }
      res.writeHead(object.ok ? status : object.status, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(e));
    }
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  return {
    origin: `http://localhost:${port}`,
    stop: () => new Promise((ok) => server.close(ok)),
  };
}
