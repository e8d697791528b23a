import { afterEach, expect, it, vi } from 'vitest';
import './bp-bills';
import type { BpBills } from './bp-bills';

const bill = (id: string, due: string, outstanding: number, overdue: boolean, status = 'open') => ({
  id,
  biller_id: 'blr_1',
  reference: `REF-${id}`,
  customer_name: 'Ana',
  currency: 'COP',
  amount_due: outstanding,
  amount_outstanding: outstanding,
  due_date: due,
  status,
  overdue,
});

afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = '';
});

it("lists the customer's unpaid bills soonest first, marks the overdue one, and asks to pay", async () => {
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => {
      if (url.endsWith('config.json')) return new Response(JSON.stringify({ apiBase: '', flagSet: 'x', flagsKey: null }));
      if (url.includes('/v1/billers'))
        return new Response(JSON.stringify({ data: [{ id: 'blr_1', name: 'Luz del Valle', category: 'electricity' }] }));
      return new Response(
        JSON.stringify({
          data: [
            bill('b_later', '2026-12-20', 4_599_00, false),
            bill('b_paid', '2026-11-01', 0, false, 'paid'),
            bill('b_late', '2026-11-25', 18_550_000, true),
          ],
        }),
      );
    }),
  );
  const el = document.createElement('bp-bills') as BpBills;
  document.body.append(el);
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 0));
    await el.updateComplete;
  }
  const items = [...el.shadowRoot!.querySelectorAll('li')];
  expect(items.map((li) => li.dataset.bill)).toEqual(['b_late', 'b_later']);
  expect(items[0].textContent).toContain('Luz del Valle');
  expect(items[0].textContent).toContain('Energía');
  expect(items[0].querySelector('.overdue')?.textContent).toContain('Vencida desde');
  expect(items[1].querySelector('.overdue')).toBeNull();
  let asked: { id: string } | null = null;
  el.addEventListener('pay-bill', (e) => (asked = (e as CustomEvent).detail));
  items[0].querySelector('button')!.click();
  expect(asked!.id).toBe('b_late');
});
