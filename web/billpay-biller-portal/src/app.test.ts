import { describe, expect, it } from 'vitest';

import { App, checkApi } from './app';
import { pickLocale, t } from './i18n';

function fakeFetch(routes: Record<string, [number, unknown]>): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    const [status, body] = routes[String(input)] ?? [404, {}];
    return new Response(JSON.stringify(body), { status });
  }) as typeof fetch;
}

describe('checkApi', () => {
  it('is up when the configured API answers /readyz', async () => {
    const f = fakeFetch({ '/config.json': [200, { apiBaseUrl: 'https://api.example.com/' }], 'https://api.example.com/readyz': [200, {}] });
    expect(await checkApi(f)).toEqual({ state: 'up' });
  });

  it('names the status when the API is draining', async () => {
    const f = fakeFetch({ '/config.json': [200, { apiBaseUrl: '/' }], '/readyz': [503, {}] });
    expect(await checkApi(f)).toEqual({ state: 'down', reason: 'HTTP 503' });
  });

  it('says when config.json is missing', async () => {
    expect(await checkApi(fakeFetch({}))).toEqual({ state: 'down', reason: 'config.json: HTTP 404' });
  });
});

describe('the app', () => {
  it('shows the service state in Spanish by default', async () => {
    const el = document.createElement('billpay-biller-portal-app') as App;
    el.fetcher = fakeFetch({ '/config.json': [200, { apiBaseUrl: '/' }], '/readyz': [200, {}] });
    el.locale = 'es-CO';
    document.body.append(el);
    await new Promise((r) => setTimeout(r, 0));
    await el.updateComplete;
    expect(el.shadowRoot?.querySelector('[role=status]')?.textContent).toBe(t('es-CO', 'up'));
    el.remove();
  });

  it('picks English only for non-Spanish browsers', () => {
    expect(pickLocale(['es-MX'])).toBe('es-CO');
    expect(pickLocale(['en-US'])).toBe('en');
    expect(pickLocale([])).toBe('es-CO');
  });
});
