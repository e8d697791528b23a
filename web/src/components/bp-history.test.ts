import { expect, it } from 'vitest';
import type { Biller, Payment } from '../lib/api';
import { spendingByMonth } from './bp-history';

const pay = (id: string, biller: string, amount: number, at: string, status = 'succeeded'): Payment => ({
  id,
  confirmation_number: id,
  biller_id: biller,
  bill_id: `bill_${id}`,
  currency: 'COP',
  amount,
  fee: 100,
  total_debited: amount + 100,
  status,
  created_at: at,
});

it('sums what was paid per month and category, newest month first, largest first, without refunds', () => {
  const billers = new Map<string, Biller>([
    ['blr_luz', { id: 'blr_luz', name: 'Luz', category: 'electricity' } as Biller],
    ['blr_agua', { id: 'blr_agua', name: 'Agua', category: 'water' } as Biller],
  ]);
  const months = spendingByMonth(
    [
      pay('1', 'blr_luz', 10_000_00, '2026-11-30T12:00:00Z'),
      pay('2', 'blr_agua', 30_000_00, '2026-11-02T12:00:00Z'),
      pay('3', 'blr_luz', 5_000_00, '2026-11-15T12:00:00Z'),
      pay('4', 'blr_luz', 7_000_00, '2026-11-16T12:00:00Z', 'refunded'),
      // 04:00 UTC on 1 December is still 30 November in Bogotá.
      pay('5', 'blr_agua', 1_000_00, '2026-12-01T04:00:00Z'),
      pay('6', 'blr_luz', 2_000_00, '2026-12-01T12:00:00Z'),
    ],
    billers,
  );
  expect(months.map((m) => m.month)).toEqual(['2026-12', '2026-11']);
  expect(months[0].bars.map((b) => [b.label, b.value])).toEqual([['Energía', 2_000_00]]);
  expect(months[1].bars.map((b) => [b.label, b.value])).toEqual([
    ['Acueducto', 31_000_00],
    ['Energía', 15_000_00],
  ]);
  expect(months[1].bars[0].text).toBe('$\u00a031.000');
});
