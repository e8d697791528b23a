import { html } from 'lit';
import { type Payment, newIdempotencyKey, request } from '../../src/lib/api';
import { formatDate, locale } from '../../src/lib/i18n';
import { parseMoney } from '../../src/lib/money';
import { p, word } from './messages';
import { Screen, money, paged } from './screen';

type Received = Payment & { refunded_amount: number };

/** The payments the biller received, newest first, and refunds on them (through the refund path and ledger). */
export class BpPortalPayments extends Screen {
  static properties = { ...Screen.properties, payments: { state: true }, refunding: { state: true }, cursor: { state: true } };
  payments: Received[] = [];
  /** The payment whose refund form is open. */
  refunding: Received | null = null;
  cursor: string | null = null;
  /** One key per refund form opened: a retried click is the same refund, never a second one. */
  private refundKey = '';

  protected async load(more = false) {
    [this.payments, this.cursor] = await paged('/v1/payments', this.payments, this.cursor, more);
  }

  private open(pay: Received) {
    this.refunding = pay;
    this.refundKey = newIdempotencyKey();
    this.message = '';
    this.error = '';
  }

  private async refund(e: Event) {
    e.preventDefault();
    const pay = this.refunding;
    if (!pay) return;
    const data = new FormData(e.target as HTMLFormElement);
    const amount = parseMoney(String(data.get('amount') ?? ''), pay.currency, locale());
    if (amount === null || amount <= 0) {
      this.error = p('payments.bad_amount');
      return;
    }
    const reason = String(data.get('reason') ?? '').trim();
    const done = await this.act(async () => {
      await request(`/v1/payments/${pay.id}/refunds`, {
        body: { amount, ...(reason ? { reason } : {}) },
        idempotencyKey: this.refundKey,
      });
      return p('payments.refund_done', { amount: money(amount, pay.currency) });
    });
    if (done) this.refunding = null;
  }

  private form(pay: Received) {
    return html`<form class="inline card" aria-label=${p('payments.refund_label', { confirmation: pay.confirmation_number })} @submit=${this.refund}>
      <div>
        <label for="refund-amount">${p('payments.refund_amount')}</label>
        <input id="refund-amount" name="amount" inputmode="decimal" required />
      </div>
      <div>
        <label for="refund-reason">${p('payments.refund_reason')}</label>
        <input id="refund-reason" name="reason" maxlength="200" />
      </div>
      <div><button type="submit" ?disabled=${this.busy}>${p('payments.refund_send')}</button></div>
    </form>`;
  }

  render() {
    return html`<section class="card" aria-labelledby="payments-title">
      <h2 id="payments-title">${p('payments.title')}</h2>
      ${this.status()} ${this.refunding ? this.form(this.refunding) : ''}
      ${this.payments.length === 0
        ? html`<p class="muted">${p('none')}</p>`
        : html`<table data-testid="payments">
            <thead>
              <tr>
                <th scope="col">${p('payments.confirmation')}</th>
                <th scope="col">${p('payments.date')}</th>
                <th scope="col">${p('payments.amount')}</th>
                <th scope="col">${p('payments.refunded')}</th>
                <th scope="col">${p('bills.status')}</th>
                <th scope="col"><span class="sr-only">${p('payments.refund')}</span></th>
              </tr>
            </thead>
            <tbody>
              ${this.payments.map(
                (pay) => html`<tr>
                  <td>${pay.confirmation_number}</td>
                  <td>${formatDate(pay.created_at)}</td>
                  <td class="amount">${money(pay.amount, pay.currency)}</td>
                  <td class="amount">${money(pay.refunded_amount, pay.currency)}</td>
                  <td>${word('status', pay.status)}</td>
                  <td>
                    ${pay.refunded_amount < pay.amount
                      ? html`<button type="button" class="secondary" aria-label=${p('payments.refund_label', { confirmation: pay.confirmation_number })} @click=${() => this.open(pay)}>
                          ${p('payments.refund')}
                        </button>`
                      : ''}
                  </td>
                </tr>`,
              )}
            </tbody>
          </table>`}
      ${this.cursor ? html`<button type="button" class="secondary" @click=${() => this.read(this.load(true))}>${p('more')}</button>` : ''}
    </section>`;
  }
}
customElements.define('bp-portal-payments', BpPortalPayments);
