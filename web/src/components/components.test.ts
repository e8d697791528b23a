import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { rolloutOf, rolloutRule } from './bp-flags-admin';
import './bp-header';
import './bp-pay';
import type { BpHeader } from './bp-header';
import { looksLikeBarcode, type BpPay } from './bp-pay';

const biller = {
  id: 'blr_1',
  name: 'Aguas de Prueba',
  category: 'water',
  currency: 'COP',
  reference_hint: 'six digits',
  amount_rule: 'partial',
  fee: { fixed: 100000, bps: 0, payer: 'customer' },
  status: 'active',
};
const bill = {
  id: 'bill_1',
  biller_id: 'blr_1',
  reference: '123456',
  customer_name: 'Hogar',
  currency: 'COP',
  amount_due: 12500000,
  amount_outstanding: 12500000,
  due_date: '2026-12-10',
  status: 'open',
  overdue: false,
};

/** A fake API: answers by path, and records every request. */
function fakeApi() {
  const calls: { url: string; init: RequestInit }[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit = {}) => {
      calls.push({ url, init });
      const body = url.endsWith('config.json')
        ? { apiBase: '', flagSet: 'billpay-web', flagsKey: null }
        : url.includes('/v1/billers')
          ? { data: [biller], has_more: false, next_cursor: null }
          : url.includes('/v1/bills/lookup')
            ? { data: [bill], has_more: false, next_cursor: null }
            : url.endsWith('/v1/payments')
              ? { id: 'pay_1', confirmation_number: 'BP-7K3M-9QXA', amount: 12500000, currency: 'COP' }
              : { ...bill, amount_outstanding: 0, status: 'paid' };
      return new Response(JSON.stringify(body), { status: url.endsWith('/v1/payments') ? 201 : 200 });
    }),
  );
  return calls;
}

async function settle(el: { updateComplete: Promise<boolean> }) {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 0));
    await el.updateComplete;
  }
}

async function payFlow(mode: 'review' | 'one-step') {
  const calls = fakeApi();
  const el = document.createElement('bp-pay') as BpPay;
  el.mode = mode;
  document.body.append(el);
  await settle(el);
  const root = el.shadowRoot!;
  (root.querySelector('button[data-biller="blr_1"]') as HTMLButtonElement).click();
  await settle(el);
  (root.querySelector('#reference') as HTMLInputElement).value = '123456';
  root.querySelector('#lookup-form')!.dispatchEvent(new Event('submit', { cancelable: true }));
  await settle(el);
  return { el, root, calls };
}

describe('bp-pay', () => {
  beforeEach(() => localStorage.clear());

  it('finds the bill and its biller from a pasted invoice barcode', async () => {
    const calls = fakeApi();
    const el = document.createElement('bp-pay') as BpPay;
    document.body.append(el);
    await settle(el);
    const root = el.shadowRoot!;
    const code = '(415)7709998000018(8020)123456(3900)125000(96)20261210';
    (root.querySelector('#barcode') as HTMLInputElement).value = ` ${code} `;
    root.querySelector('#barcode-form')!.dispatchEvent(new Event('submit', { cancelable: true }));
    await settle(el);
    const lookup = calls.find((c) => c.url.includes('/v1/bills/lookup'))!;
    expect(lookup.url).toContain(`barcode=${encodeURIComponent(code)}`);
    expect(root.querySelector('#lookup-title')?.textContent).toContain('Aguas de Prueba');
    expect(root.textContent).toContain('123456');
  });

  it('reads a barcode pasted where the reference goes', async () => {
    const { calls } = await payFlow('review');
    expect(calls.filter((c) => c.url.includes('/v1/bills/lookup'))[0].url).toContain('reference=123456');
    expect(looksLikeBarcode('(415)7709998000018(8020)1002003001')).toBe(true);
    expect(looksLikeBarcode('415770999800001880201002003001')).toBe(true);
    expect(looksLikeBarcode('1002003001')).toBe(false);
    expect(looksLikeBarcode('4150000')).toBe(false);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    document.body.innerHTML = '';
  });

  it('A reviews amount, fee and total before paying', async () => {
    const { el, root, calls } = await payFlow('review');
    expect(root.querySelector('[data-testid="total"]')?.textContent).toBe('$\u00a0126.000');
    (root.querySelector('[data-testid="pay"]') as HTMLButtonElement).click();
    await settle(el);
    expect(calls.filter((c) => c.url.endsWith('/v1/payments'))).toHaveLength(0);
    expect(root.querySelector('[data-testid="review"]')?.textContent).toContain('Comisión');
    (root.querySelector('[data-testid="confirm"]') as HTMLButtonElement).click();
    await settle(el);
    const pays = calls.filter((c) => c.url.endsWith('/v1/payments'));
    expect(pays).toHaveLength(1);
    expect(JSON.parse(pays[0].init.body as string)).toEqual({ bill_id: 'bill_1', amount: 12500000, currency: 'COP' });
    expect(root.querySelector('[data-testid="paid"]')?.textContent).toContain('BP-7K3M-9QXA');
  });

  it('B pays from the form, and two clicks send one key', async () => {
    const { el, root, calls } = await payFlow('one-step');
    const button = root.querySelector('[data-testid="pay"]') as HTMLButtonElement;
    button.click();
    button.click();
    await settle(el);
    const pays = calls.filter((c) => c.url.endsWith('/v1/payments'));
    expect(pays).toHaveLength(1);
    const key = (pays[0].init.headers as Record<string, string>)['idempotency-key'];
    expect(key).toMatch(/^[0-9a-f-]{36}$/);
    expect(root.querySelector('[data-testid="review"]')).toBeNull();
  });
});

describe('bp-header', () => {
  it('switches the language from a labelled control', async () => {
    const el = document.createElement('bp-header') as BpHeader;
    document.body.append(el);
    await el.updateComplete;
    const select = el.shadowRoot!.querySelector('#lang') as HTMLSelectElement;
    expect(el.shadowRoot!.querySelector('label[for="lang"]')?.textContent).toBe('Idioma');
    select.value = 'en';
    select.dispatchEvent(new Event('change'));
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('label[for="lang"]')?.textContent).toBe('Language');
    localStorage.clear();
  });
});

describe('rollout control', () => {
  it('reads and writes the share on B as a fractional split', () => {
    expect(rolloutOf({ state: 'ENABLED', variants: {}, targeting: rolloutRule(30) })).toBe(30);
    expect(rolloutRule(100)).toEqual({ fractional: [['a', 0], ['b', 100]] });
    expect(rolloutOf({ state: 'ENABLED', variants: {}, targeting: { if: [true, 'a', 'b'] } })).toBeNull();
    expect(rolloutOf({ state: 'ENABLED', variants: {}, targeting: { fractional: [['a'], ['b']] } })).toBe(50);
  });
});
