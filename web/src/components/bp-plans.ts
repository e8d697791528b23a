import { html, css } from 'lit';
import { type Bill, type Biller, type List, MY_BILLS, billers, newIdempotencyKey, request } from '../lib/api';
import { type MessageKey, businessDay, formatDate, locale, t } from '../lib/i18n';
import { formatMoney, parseMoney } from '../lib/money';
import { BpActions, errorText, shared } from './base';

export interface Scheduled {
  id: string;
  bill_id: string;
  biller_id: string;
  currency: string;
  amount: number;
  execute_on: string;
  status: string;
}

export interface Autopay {
  id: string;
  biller_id: string;
  reference: string;
  currency: string;
  days_before: number;
  max_amount: number | null;
  status: string;
}

export interface Notice {
  id: string;
  kind: string;
  created_at: string;
}

/** Today's date in Bogotá, `YYYY-MM-DD`: the business date payments are scheduled on. */
/** What a notification says, by its kind; an unknown kind shows as it is. */
function notice(kind: string): string {
  const key = (
    {
      'autopay.skipped': 'plans.noticeSkipped',
      'scheduled_payment.failed': 'plans.noticeFailed',
      'scheduled_payment.cancelled': 'plans.noticePaidElsewhere',
      'complaint.responded': 'plans.noticeComplaint',
      'complaint.resolved': 'plans.noticeComplaint',
      'complaint.escalated': 'plans.noticeComplaint',
    } as Record<string, MessageKey>
  )[kind];
  return key ? t(key) : kind;
}

const today = (): string => businessDay(Date.now());

/**
 * What the customer has set to happen later: payments scheduled for a date (create, list,
 * cancel), autopay on a biller's bills with a cap (enrol, list, turn off), and what BillPay told
 * them (a scheduled payment that failed, a bill autopay skipped).
 */
export class BpPlans extends BpActions {
  static properties = {
    ...BpActions.properties,
    bills: { state: true },
    scheduled: { state: true },
    autopay: { state: true },
    notices: { state: true },
  };
  bills: Bill[] = [];
  scheduled: Scheduled[] = [];
  autopay: Autopay[] = [];
  notices: Notice[] = [];
  names = new Map<string, Biller>();
  static styles = [
    shared,
    css`
      ul {
        padding-left: 1.2rem;
      }
      li button {
        width: auto;
        margin-left: 0.5rem;
      }
      .grid {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr));
        gap: 1rem;
      }
    `,
  ];

  connectedCallback() {
    super.connectedCallback();
    void this.refresh();
  }

  async refresh() {
    try {
      const [bills, scheduled, autopay, notices, all] = await Promise.all([
        request<List<Bill>>(MY_BILLS),
        request<List<Scheduled>>('/v1/scheduled-payments?limit=100'),
        request<List<Autopay>>('/v1/autopay?limit=100'),
        request<List<Notice>>('/v1/notifications?limit=20'),
        billers(),
      ]);
      this.names = new Map(all.map((b) => [b.id, b]));
      this.bills = bills.data.filter((b) => b.status !== 'cancelled' && b.amount_outstanding > 0);
      this.scheduled = scheduled.data.filter((s) => s.status === 'pending');
      this.autopay = autopay.data.filter((a) => a.status === 'active');
      this.notices = notices.data;
    } catch (e) {
      this.error = errorText(e);
    }
  }

  private name(billerId: string): string {
    return this.names.get(billerId)?.name ?? billerId;
  }

  private value(id: string): string {
    return this.renderRoot.querySelector<HTMLInputElement | HTMLSelectElement>(`#${id}`)?.value.trim() ?? '';
  }

  private schedule(e: Event) {
    e.preventDefault();
    const bill = this.bills.find((b) => b.id === this.value('plan-bill'));
    if (!bill) return;
    const typed = this.value('plan-amount');
    const amount = typed ? parseMoney(typed, bill.currency, locale()) : bill.amount_outstanding;
    if (amount === null || amount <= 0) {
      this.error = t('plans.badAmount');
      return;
    }
    void this.act(() =>
      request('/v1/scheduled-payments', {
        body: { bill_id: bill.id, amount, currency: bill.currency, execute_on: this.value('plan-date') },
        idempotencyKey: newIdempotencyKey(),
      }).then(() => t('plans.scheduled')),
    );
  }

  private enrol(e: Event) {
    e.preventDefault();
    const bill = this.bills.find((b) => b.id === this.value('auto-bill'));
    if (!bill) return;
    const cap = this.value('auto-cap');
    const maxAmount = cap ? parseMoney(cap, bill.currency, locale()) : null;
    if (cap && (maxAmount === null || maxAmount <= 0)) {
      this.error = t('plans.badAmount');
      return;
    }
    void this.act(() =>
      request('/v1/autopay', {
        body: {
          biller_id: bill.biller_id,
          reference: bill.reference,
          days_before: Number(this.value('auto-days') || '0'),
          amount_mode: 'full',
          ...(maxAmount ? { max_amount: maxAmount } : {}),
        },
        idempotencyKey: newIdempotencyKey(),
      }).then(() => t('plans.enrolled')),
    );
  }

  private billOptions() {
    return this.bills.map(
      (b) => html`<option value=${b.id}>
        ${this.name(b.biller_id)} · ${b.reference} · ${formatMoney(b.amount_outstanding, b.currency, locale())}
      </option>`,
    );
  }

  render() {
    const money = (minor: number, currency: string) => formatMoney(minor, currency, locale());
    return html`<section class="card" aria-labelledby="plans-title">
      <h2 id="plans-title">${t('plans.title')}</h2>
      <div class="grid">
        <div>
          <h3>${t('plans.scheduledTitle')}</h3>
          ${this.scheduled.length
            ? html`<ul data-testid="scheduled">
                ${this.scheduled.map(
                  (s) => html`<li data-scheduled=${s.id}>
                    ${t('plans.scheduledItem', { amount: money(s.amount, s.currency), biller: this.name(s.biller_id), date: formatDate(s.execute_on) })}
                    <button type="button" class="secondary" ?disabled=${this.busy}
                      @click=${() => this.act(() => request(`/v1/scheduled-payments/${s.id}/cancel`, { method: 'POST' }).then(() => t('plans.cancelled')))}>
                      ${t('plans.cancel')}
                    </button>
                  </li>`,
                )}
              </ul>`
            : html`<p class="muted">${t('plans.noScheduled')}</p>`}
          ${this.bills.length
            ? html`<form @submit=${(e: Event) => this.schedule(e)}>
                <label for="plan-bill">${t('plans.bill')}</label>
                <select id="plan-bill">${this.billOptions()}</select>
                <label for="plan-date">${t('plans.date')}</label>
                <input id="plan-date" type="date" required min=${today()} .value=${today()} />
                <label for="plan-amount">${t('plans.amount')}</label>
                <input id="plan-amount" inputmode="decimal" autocomplete="off" />
                <button type="submit" ?disabled=${this.busy}>${t('plans.schedule')}</button>
              </form>`
            : ''}
        </div>
        <div>
          <h3>${t('plans.autopayTitle')}</h3>
          ${this.autopay.length
            ? html`<ul data-testid="autopay">
                ${this.autopay.map(
                  (a) => html`<li data-autopay=${a.id}>
                    ${t('plans.autopayItem', { biller: this.name(a.biller_id), reference: a.reference, days: a.days_before })}
                    ${a.max_amount ? html`<span class="muted">${t('plans.cap', { amount: money(a.max_amount, a.currency) })}</span>` : ''}
                    <button type="button" class="secondary" ?disabled=${this.busy}
                      @click=${() => this.act(() => request(`/v1/autopay/${a.id}`, { method: 'DELETE' }).then(() => t('plans.stopped')))}>
                      ${t('plans.stop')}
                    </button>
                  </li>`,
                )}
              </ul>`
            : html`<p class="muted">${t('plans.noAutopay')}</p>`}
          ${this.bills.length
            ? html`<form @submit=${(e: Event) => this.enrol(e)}>
                <label for="auto-bill">${t('plans.bill')}</label>
                <select id="auto-bill">${this.billOptions()}</select>
                <label for="auto-days">${t('plans.daysBefore')}</label>
                <input id="auto-days" type="number" min="0" max="60" .value=${'3'} />
                <label for="auto-cap">${t('plans.capLabel')}</label>
                <input id="auto-cap" inputmode="decimal" autocomplete="off" />
                <button type="submit" ?disabled=${this.busy}>${t('plans.enrol')}</button>
              </form>`
            : ''}
        </div>
        <div>
          <h3>${t('plans.noticesTitle')}</h3>
          ${this.notices.length
            ? html`<ul data-testid="notices">
                ${this.notices.map(
                  (n) => html`<li>
                    ${notice(n.kind)}
                    <span class="muted">${formatDate(n.created_at)}</span>
                  </li>`,
                )}
              </ul>`
            : html`<p class="muted">${t('plans.noNotices')}</p>`}
        </div>
      </div>
      <p role="status" class="ok">${this.message}</p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
    </section>`;
  }
}
customElements.define('bp-plans', BpPlans);
