import { html, css } from 'lit';
import { type Biller, type List, type Payment, billers, request } from '../lib/api';
import { categoryLabel, formatDate, locale, t } from '../lib/i18n';
import { formatMoney } from '../lib/money';
import { BpElement, shared } from './base';
import type { Bar } from './bp-bar-chart';
import './bp-bar-chart';
import { dateTimeFormat } from '../lib/intl';

/** One month's spending (`YYYY-MM`, Bogotá time), by category and currency, largest first. */
export interface MonthSpending {
  month: string;
  bars: Bar[];
}

/**
 * What the customer paid each month, by biller category (the amount applied to bills, not the
 * fees), newest month first, at most `months` of them. Refunded payments are left out; a partly
 * refunded one counts in full.
 */
export function spendingByMonth(payments: Payment[], byId: Map<string, Biller>, months = 3): MonthSpending[] {
  const month = (iso: string) =>
    dateTimeFormat('en-CA', { timeZone: 'America/Bogota', year: 'numeric', month: '2-digit' }).format(new Date(iso));
  const sums = new Map<string, Map<string, { category: string; currency: string; minor: number }>>();
  for (const p of payments) {
    if (p.status === 'refunded') continue;
    const m = month(p.created_at);
    const category = byId.get(p.biller_id)?.category ?? 'other';
    const key = `${category}/${p.currency}`;
    const perMonth = sums.get(m) ?? new Map();
    const cell = perMonth.get(key) ?? { category, currency: p.currency, minor: 0 };
    cell.minor += p.amount;
    perMonth.set(key, cell);
    sums.set(m, perMonth);
  }
  return [...sums.keys()]
    .sort()
    .reverse()
    .slice(0, months)
    .map((m) => ({
      month: m,
      bars: [...(sums.get(m)?.values() ?? [])]
        .sort((a, b) => b.minor - a.minor)
        .map((c) => ({
          label: categoryLabel(c.category),
          value: c.minor,
          text: formatMoney(c.minor, c.currency, locale()),
        })),
    }));
}

function monthName(month: string): string {
  return dateTimeFormat(locale(), { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(
    new Date(`${month}-15T12:00:00Z`),
  );
}

/** The customer's payments, newest first, each with its printable receipt. */
export class BpHistory extends BpElement {
  static properties = {
    payments: { state: true },
    billers: { state: true },
    receipt: { state: true },
    spending: { state: true },
  };
  payments: Payment[] = [];
  billers = new Map<string, string>();
  spending: MonthSpending[] = [];
  receipt = '';
  static styles = [
    shared,
    css`
      dialog {
        width: min(44rem, 95vw);
        border: 1px solid #5f6673;
        border-radius: 10px;
      }
      iframe {
        width: 100%;
        height: 28rem;
        border: 0;
      }
    `,
  ];

  connectedCallback() {
    super.connectedCallback();
    void this.refresh();
  }

  async refresh() {
    const [payments, list] = await Promise.all([request<List<Payment>>('/v1/payments?limit=100'), billers()]);
    this.billers = new Map(list.map((b) => [b.id, b.name]));
    this.payments = payments.data.slice(0, 20);
    this.spending = spendingByMonth(payments.data, new Map(list.map((b) => [b.id, b])));
  }

  private async open(p: Payment) {
    this.receipt = await request<string>(`/v1/payments/${p.id}/receipt`, { accept: 'text/html' });
    await this.updateComplete;
    this.renderRoot.querySelector('dialog')?.showModal();
  }

  render() {
    return html`<section class="card" aria-labelledby="history-title">
      <h2 id="history-title">${t('history.title')}</h2>
      ${this.spending.map(
        (m) => html`<bp-bar-chart
          data-testid="spending"
          .caption=${t('history.spending', { month: monthName(m.month) })}
          .bars=${m.bars}
        ></bp-bar-chart>`,
      )}
      ${this.payments.length === 0
        ? html`<p class="muted">${t('history.empty')}</p>`
        : html`<table data-testid="history">
            <thead>
              <tr><th scope="col">#</th><th scope="col">${t('lookup.biller')}</th><th scope="col">${t('pay.amount')}</th><th scope="col"></th></tr>
            </thead>
            <tbody>
              ${this.payments.map(
                (p) => html`<tr>
                  <td>${p.confirmation_number}<br /><span class="muted">${formatDate(p.created_at)}</span></td>
                  <td>${this.billers.get(p.biller_id) ?? p.biller_id}</td>
                  <td class="amount">${formatMoney(p.amount, p.currency, locale())}</td>
                  <td><button type="button" class="secondary" @click=${() => this.open(p)}>${t('history.receipt')}</button></td>
                </tr>`,
              )}
            </tbody>
          </table>`}
      <dialog aria-labelledby="receipt-title">
        <h2 id="receipt-title">${t('receipt.title')}</h2>
        <iframe title=${t('receipt.title')} srcdoc=${this.receipt} sandbox="allow-modals allow-same-origin"></iframe>
        <button type="button" @click=${() => this.renderRoot.querySelector('iframe')?.contentWindow?.print()}>${t('receipt.print')}</button>
        <button type="button" class="secondary" @click=${() => this.renderRoot.querySelector('dialog')?.close()}>${t('receipt.close')}</button>
      </dialog>
    </section>`;
  }
}
customElements.define('bp-history', BpHistory);
