import { html, css } from 'lit';
import { type List, type Payment, billers, request } from '../lib/api';
import { formatDate, locale, t } from '../lib/i18n';
import { formatMoney } from '../lib/money';
import { BpElement, shared } from './base';

/** The customer's payments, newest first, each with its printable receipt. */
export class BpHistory extends BpElement {
  static properties = {
    payments: { state: true },
    billers: { state: true },
    receipt: { state: true },
  };
  payments: Payment[] = [];
  billers = new Map<string, string>();
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
    const [payments, list] = await Promise.all([request<List<Payment>>('/v1/payments?limit=20'), billers()]);
    this.billers = new Map(list.map((b) => [b.id, b.name]));
    this.payments = payments.data;
  }

  private async open(p: Payment) {
    this.receipt = await request<string>(`/v1/payments/${p.id}/receipt`, { accept: 'text/html' });
    await this.updateComplete;
    this.renderRoot.querySelector('dialog')?.showModal();
  }

  render() {
    return html`<section class="card" aria-labelledby="history-title">
      <h2 id="history-title">${t('history.title')}</h2>
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
