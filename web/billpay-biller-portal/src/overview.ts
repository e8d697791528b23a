import { html } from 'lit';
import type { Payment } from '../../src/lib/api';
import { businessDay, formatDate } from '../../src/lib/i18n';
import '../../src/components/bp-bar-chart';
import type { Bar } from '../../src/components/bp-bar-chart';
import type { Complaint } from './complaints';
import { p } from './messages';
import { Screen, all, money } from './screen';

const DAY = 86_400_000;

/** What was collected on each of the last `days` business days, oldest first: the amounts paid, before fees and refunds. */
export function collectionsPerDay(payments: Payment[], now: number, days = 14): { day: string; amount: number }[] {
  const out = Array.from({ length: days }, (_, i) => ({ day: businessDay(now - (days - 1 - i) * DAY), amount: 0 }));
  const index = new Map(out.map((d, i) => [d.day, i]));
  for (const pay of payments) {
    const i = index.get(businessDay(pay.created_at));
    if (i !== undefined) out[i].amount += pay.amount;
  }
  return out;
}

/** Open complaints by how long is left to answer them: overdue, within a day, 1–3 days, later. */
export function deadlineBuckets(complaints: Complaint[], now: number): number[] {
  const counts = [0, 0, 0, 0];
  for (const c of complaints) {
    if (c.status === 'resolved' || c.status === 'closed') continue;
    const left = Date.parse(c.respond_by) - now;
    counts[left < 0 ? 0 : left < DAY ? 1 : left < 3 * DAY ? 2 : 3] += 1;
  }
  return counts;
}

/** Charts a biller reads at a glance: what was collected each day, and how close complaints are to their deadline. */
export class BpPortalOverview extends Screen {
  static properties = { ...Screen.properties, payments: { state: true }, complaints: { state: true } };
  payments: Payment[] = [];
  complaints: Complaint[] = [];

  protected async load() {
    const since = new Date(Date.now() - 15 * DAY).toISOString();
    const [payments, complaints] = await Promise.all([
      all<Payment>(`/v1/payments?created_from=${encodeURIComponent(since)}`, 2000),
      all<Complaint>('/v1/complaints'),
    ]);
    this.payments = payments;
    this.complaints = complaints;
  }

  render() {
    const now = Date.now();
    const collected: Bar[] = collectionsPerDay(this.payments, now).map((d) => ({
      label: formatDate(d.day),
      value: d.amount,
      text: money(d.amount, this.currency),
    }));
    const labels = [p('overview.overdue'), p('overview.today'), p('overview.soon'), p('overview.later')];
    const deadlines: Bar[] = deadlineBuckets(this.complaints, now).map((n, i) => ({
      label: labels[i],
      value: n,
      text: p('overview.count', { count: n }),
    }));
    return html`${this.error ? this.status() : ''}
      <section class="card" data-testid="collections">
        <bp-bar-chart .caption=${p('overview.collections', { currency: this.currency })} .bars=${collected}></bp-bar-chart>
      </section>
      <section class="card" data-testid="deadlines">
        <bp-bar-chart .caption=${p('overview.deadlines')} .bars=${deadlines}></bp-bar-chart>
      </section>`;
  }
}
customElements.define('bp-portal-overview', BpPortalOverview);
