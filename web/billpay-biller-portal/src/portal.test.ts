import { describe, expect, it } from 'vitest';
import type { Payment } from '../../src/lib/api';
import type { Complaint } from './complaints';
import { hoursLeft } from './complaints';
import { PORTAL_MESSAGES, word } from './messages';
import { businessDay } from '../../src/lib/i18n';
import { collectionsPerDay, deadlineBuckets } from './overview';

const pay = (created_at: string, amount: number) => ({ created_at, amount, currency: 'COP' }) as Payment;
const complaint = (respond_by: string, status = 'open') => ({ respond_by, status }) as Complaint;
const NOW = Date.parse('2026-12-04T15:00:00Z');

describe('collections per day', () => {
  it('counts each payment on its business day in Bogotá (UTC-5), not in UTC', () => {
    expect(businessDay('2026-12-04T03:00:00Z')).toBe('2026-12-03');
    const days = collectionsPerDay(
      [pay('2026-12-04T03:00:00Z', 1_000), pay('2026-12-04T06:00:00Z', 2_500), pay('2026-12-04T14:00:00Z', 500)],
      NOW,
      3,
    );
    expect(days).toEqual([
      { day: '2026-12-02', amount: 0 },
      { day: '2026-12-03', amount: 1_000 },
      { day: '2026-12-04', amount: 3_000 },
    ]);
  });

  it('leaves out payments older than the window', () => {
    const days = collectionsPerDay([pay('2026-11-01T15:00:00Z', 9_999)], NOW, 14);
    expect(days).toHaveLength(14);
    expect(days.reduce((s, d) => s + d.amount, 0)).toBe(0);
  });
});

describe('complaint deadlines', () => {
  it('sorts open complaints into overdue, within a day, 1 to 3 days, and later; resolved ones do not count', () => {
    const counts = deadlineBuckets(
      [
        complaint('2026-12-04T14:59:00Z'),
        complaint('2026-12-05T14:00:00Z'),
        complaint('2026-12-06T15:00:00Z'),
        complaint('2026-12-09T15:00:00Z'),
        complaint('2026-12-01T00:00:00Z', 'resolved'),
        complaint('2026-12-01T00:00:00Z', 'closed'),
      ],
      NOW,
    );
    expect(counts).toEqual([1, 1, 1, 1]);
  });

  it('says how many whole hours are left, negative once late', () => {
    expect(hoursLeft(complaint('2026-12-06T15:00:00Z'), NOW)).toBe(48);
    expect(hoursLeft(complaint('2026-12-04T14:00:00Z'), NOW)).toBe(-1);
  });
});

describe('messages', () => {
  it('has every word in both languages, none empty', () => {
    const es = PORTAL_MESSAGES['es-CO'];
    const en = PORTAL_MESSAGES.en;
    expect(Object.keys(en).sort()).toEqual(Object.keys(es).sort());
    for (const [k, v] of [...Object.entries(es), ...Object.entries(en)]) expect(v.trim(), k).not.toBe('');
  });

  it('words what the API says in Spanish, and an unknown word as it is', () => {
    expect(word('status', 'partially_paid')).toBe('Pago parcial');
    expect(word('kind', 'amount_mismatch')).toBe('Valor distinto');
    expect(word('type', 'duplicate_charge')).toBe('Cobro duplicado');
    expect(word('status', 'something_new')).toBe('something_new');
  });
});
