import { afterEach, expect, it, vi } from 'vitest';
import { ApiError, prefetch, request } from './api';

afterEach(() => vi.unstubAllGlobals());

function fakeFetch(answer: (url: string, init: RequestInit) => Response) {
  const calls: { url: string; method: string }[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      if (url.endsWith('config.json')) return new Response(JSON.stringify({ apiBase: '', flagSet: 'x', flagsKey: null }));
      calls.push({ url, method: init.method ?? 'GET' });
      return answer(url, init);
    }),
  );
  return calls;
}

it('components asking for the same list at once share one request, each with its own copy', async () => {
  const calls = fakeFetch(() => new Response(JSON.stringify({ data: [{ id: 'bil_1' }] })));
  const [a, b] = await Promise.all([request<{ data: unknown[] }>('/v1/bills?limit=100'), request<{ data: unknown[] }>('/v1/bills?limit=100')]);
  expect(calls).toHaveLength(1);
  expect(a).toEqual(b);
  a.data.push('mine');
  expect(b.data).toHaveLength(1);
  // Once answered, the next ask is a new request: nothing is cached.
  await request('/v1/bills?limit=100');
  expect(calls).toHaveLength(2);
});

it('writes are never shared, and a refusal reaches every caller as the problem the server sent', async () => {
  const calls = fakeFetch((_url, init) =>
    (init.method ?? 'GET') === 'POST'
      ? new Response('{}', { status: 201 })
      : new Response(JSON.stringify({ code: 'not_found', detail: 'no such bill' }), { status: 404 }),
  );
  await Promise.all([request('/v1/payments', { body: { a: 1 } }), request('/v1/payments', { body: { a: 1 } })]);
  expect(calls.filter((c) => c.method === 'POST')).toHaveLength(2);
  const both = await Promise.allSettled([request('/v1/bills/x'), request('/v1/bills/x')]);
  for (const r of both) {
    expect(r.status).toBe('rejected');
    const e = (r as PromiseRejectedResult).reason as ApiError;
    expect([e.status, e.code, e.detail]).toEqual([404, 'not_found', 'no such bill']);
  }
  expect(calls.filter((c) => c.method === 'GET')).toHaveLength(1);
});

it('a prefetched list is handed to the first component that asks, once; later asks go to the network', async () => {
  const calls = fakeFetch(() => new Response(JSON.stringify({ data: [{ id: 'bil_1' }] })));
  prefetch('/v1/bills?limit=7');
  await vi.waitFor(() => expect(calls).toHaveLength(1));
  const first = await request<{ data: unknown[] }>('/v1/bills?limit=7');
  expect(first.data).toEqual([{ id: 'bil_1' }]);
  expect(calls).toHaveLength(1);
  await request('/v1/bills?limit=7');
  expect(calls).toHaveLength(2);
});

it('a refused prefetch (asked before anyone signed in) is dropped: the component asks again and gets the fresh answer', async () => {
  let signedIn = false;
  const calls = fakeFetch(() =>
    signedIn
      ? new Response(JSON.stringify({ data: [{ id: 'bil_2' }] }))
      : new Response(JSON.stringify({ code: 'unauthenticated', detail: 'sign in' }), { status: 401 }),
  );
  prefetch('/v1/bills?limit=8');
  await vi.waitFor(() => expect(calls).toHaveLength(1));
  signedIn = true;
  const list = await request<{ data: unknown[] }>('/v1/bills?limit=8');
  expect(list.data).toEqual([{ id: 'bil_2' }]);
  expect(calls).toHaveLength(2);
});
