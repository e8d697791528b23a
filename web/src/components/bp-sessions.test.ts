import { afterEach, expect, it, vi } from 'vitest';
import './bp-sessions';
import type { BpSessions } from './bp-sessions';

const sessions = [
  { id: 'ses_a', created_at: '2026-12-01T10:00:00Z', last_seen_at: '2026-12-01T10:05:00Z', user_agent: 'Firefox', current: true },
  { id: 'ses_b', created_at: '2026-11-30T09:00:00Z', last_seen_at: '2026-11-30T09:30:00Z', user_agent: 'Phone', current: false },
];

const passkeys = [{ id: 'pk_a', name: 'Phone', created_at: '2026-11-29T10:00:00Z', last_used_at: null }];

afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = '';
});

function fakeApi() {
  const calls: { url: string; method: string; credentials?: RequestCredentials }[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      calls.push({ url, method: init.method ?? 'GET', credentials: init.credentials });
      if (url.endsWith('config.json')) return new Response(JSON.stringify({ apiBase: '', flagSet: 'x', flagsKey: null }));
      if ((init.method ?? 'GET') === 'DELETE') return new Response(null, { status: 204 });
      if (url.endsWith('/v1/auth/passkeys')) return new Response(JSON.stringify({ data: passkeys }));
      return new Response(JSON.stringify({ data: sessions }));
    }),
  );
  return calls;
}

async function settle(el: BpSessions) {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 0));
    await el.updateComplete;
  }
}

it('lists sessions, ends another one, and signs out everywhere, all with the cookie', async () => {
  const calls = fakeApi();
  const el = document.createElement('bp-sessions') as BpSessions;
  document.body.append(el);
  await settle(el);
  const items = el.shadowRoot!.querySelectorAll('[data-testid=sessions] li');
  expect(items.length).toBe(2);
  expect(items[0].textContent).toContain('Este navegador');
  expect(items[0].querySelector('button')).toBeNull();
  items[1].querySelector('button')!.click();
  await settle(el);
  expect(calls.some((c) => c.method === 'DELETE' && c.url.endsWith('/v1/auth/sessions/ses_b'))).toBe(true);
  let signedOut = false;
  el.addEventListener('signed-out', () => (signedOut = true));
  const all = [...el.shadowRoot!.querySelectorAll('button')].find((b) => b.textContent!.includes('todos'))!;
  all.click();
  await settle(el);
  expect(calls.some((c) => c.method === 'DELETE' && c.url.endsWith('/v1/auth/sessions'))).toBe(true);
  expect(signedOut).toBe(true);
  // No request carries an API key; every one sends the session cookie.
  expect(calls.filter((c) => !c.url.endsWith('config.json')).every((c) => c.credentials === 'include')).toBe(true);
});

it('lists the passkeys and removes one', async () => {
  const calls = fakeApi();
  const el = document.createElement('bp-sessions') as BpSessions;
  document.body.append(el);
  await settle(el);
  const item = el.shadowRoot!.querySelector('[data-passkey=pk_a]')!;
  expect(item.textContent).toContain('Phone');
  item.querySelector('button')!.click();
  await settle(el);
  expect(calls.some((c) => c.method === 'DELETE' && c.url.endsWith('/v1/auth/passkeys/pk_a'))).toBe(true);
});
