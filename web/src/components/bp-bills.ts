import { html, css } from 'lit';
import { type Bill, type Biller, type List, MY_BILLS, billers, request } from '../lib/api';
import { categoryLabel, formatDate, locale, t } from '../lib/i18n';
import { formatMoney } from '../lib/money';
import { BpElement, errorText, shared } from './base';

/**
 * "Tus facturas": the bills addressed to the signed-in customer that still owe something, soonest
 * due first, each with its biller, amount, due date, an overdue mark and a pay button. Paying
 * emits `pay-bill` with the bill; the app hands it to the payment form.
 */
export class BpBills extends BpElement {
  static properties = { bills: { state: true }, names: { state: true }, error: { state: true } };
  bills: Bill[] | null = null;
  names = new Map<string, Biller>();
  error = '';
  static styles = [
    shared,
    css`
      ul {
        list-style: none;
        padding: 0;
        margin: 0;
      }
      li {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 1rem;
        align-items: center;
        padding: 0.5rem 0;
        border-bottom: 1px solid #e3e7ee;
      }
      .what {
        flex: 1 1 12rem;
      }
      .amount {
        font-weight: 700;
      }
      .overdue {
        color: #a4161a;
        font-weight: 700;
      }
      li button {
        width: auto;
      }
    `,
  ];

  connectedCallback() {
    super.connectedCallback();
    void this.refresh();
  }

  async refresh() {
    try {
      const [list, all] = await Promise.all([request<List<Bill>>(MY_BILLS), billers()]);
      this.names = new Map(all.map((b) => [b.id, b]));
      this.bills = list.data
        .filter((b) => b.status !== 'cancelled' && b.amount_outstanding > 0)
        // ISO dates sort as plain strings; localeCompare would load a collator on the home's path.
        .sort((x, y) => (x.due_date < y.due_date ? -1 : x.due_date > y.due_date ? 1 : 0));
      this.error = '';
    } catch (e) {
      this.error = errorText(e);
    }
    await this.updateComplete;
    this.dispatchEvent(new CustomEvent('bills-shown', { bubbles: true, composed: true }));
  }

  private pay(bill: Bill) {
    this.dispatchEvent(new CustomEvent('pay-bill', { detail: bill, bubbles: true, composed: true }));
  }

  render() {
    const bills = this.bills;
    return html`<section class="card" aria-labelledby="bills-title">
      <h2 id="bills-title">${t('bills.title')}</h2>
      ${bills === null
        ? ''
        : bills.length === 0
          ? html`<p>${t('bills.none')}</p>`
          : html`<ul data-testid="bills">
              ${bills.map((b) => {
                const biller = this.names.get(b.biller_id);
                return html`<li data-bill=${b.id}>
                  <span class="what">
                    <strong>${biller?.name ?? b.biller_id}</strong>
                    <span class="muted">· ${biller ? categoryLabel(biller.category) : ''} · ${b.reference}</span>
                  </span>
                  <span class="amount">${formatMoney(b.amount_outstanding, b.currency, locale())}</span>
                  <span class=${b.overdue ? 'overdue' : 'muted'}>
                    ${b.overdue ? t('bills.overdue', { date: formatDate(b.due_date) }) : t('bills.due', { date: formatDate(b.due_date) })}
                  </span>
                  <button type="button" @click=${() => this.pay(b)} aria-label=${t('bills.payLabel', { name: biller?.name ?? b.reference })}>
                    ${t('bills.pay')}
                  </button>
                </li>`;
              })}
            </ul>`}
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
    </section>`;
  }
}
customElements.define('bp-bills', BpBills);
