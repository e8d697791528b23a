import { html } from 'lit';
import { ApiError, type Wallet, newIdempotencyKey, request } from '../lib/api';
import { locale, t } from '../lib/i18n';
import { formatMoney, parseMoney } from '../lib/money';
import { BpElement, shared } from './base';

/** Wallet balances and, when the `wallet-topups` flag allows, a top-up form. */
export class BpWallet extends BpElement {
  static properties = {
    customerId: { attribute: false },
    topups: { type: Boolean },
    wallet: { state: true },
    message: { state: true },
    error: { state: true },
    busy: { state: true },
  };
  customerId = '';
  topups = true;
  wallet: Wallet | null = null;
  message = '';
  error = '';
  busy = false;
  private attemptKey = newIdempotencyKey();
  static styles = shared;

  connectedCallback() {
    super.connectedCallback();
    void this.refresh();
  }

  async refresh() {
    this.wallet = await request<Wallet>(`/v1/customers/${this.customerId}/wallet`);
  }

  private async topUp(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const currency = (form.querySelector('#topup-currency') as HTMLSelectElement).value;
    const amount = parseMoney((form.querySelector('#topup-amount') as HTMLInputElement).value, currency, locale());
    this.message = '';
    this.error = '';
    if (amount === null) {
      this.error = t('pay.bad_amount');
      return;
    }
    this.busy = true;
    try {
      await request(`/v1/customers/${this.customerId}/wallet/topups`, {
        body: { amount, currency },
        idempotencyKey: this.attemptKey,
      });
      this.attemptKey = newIdempotencyKey();
      this.message = t('topup.done', { amount: formatMoney(amount, currency, locale()) });
      form.reset();
      await this.refresh();
    } catch (err) {
      this.error = err instanceof ApiError && err.status !== 0 ? err.detail : t('error.network');
    } finally {
      this.busy = false;
    }
  }

  render() {
    const balances = this.wallet?.balances ?? [];
    return html`<section class="card" aria-labelledby="wallet-title">
      <h2 id="wallet-title">${t('wallet.title')}</h2>
      ${balances.length
        ? html`<ul data-testid="balances">
            ${balances.map(
              (b) => html`<li><strong class="amount" data-currency=${b.currency}>${formatMoney(b.balance, b.currency, locale())}</strong> <span class="muted">${b.currency}</span></li>`,
            )}
          </ul>`
        : html`<p class="muted">${t('wallet.empty')}</p>`}
      ${this.topups
        ? html`<form @submit=${this.topUp} aria-labelledby="topup-title">
            <h3 id="topup-title">${t('topup.title')}</h3>
            <div class="row">
              <div>
                <label for="topup-amount">${t('topup.amount')}</label>
                <input id="topup-amount" inputmode="decimal" autocomplete="off" required />
              </div>
              <div>
                <label for="topup-currency">${t('topup.currency')}</label>
                <select id="topup-currency">
                  <option>COP</option>
                  <option>USD</option>
                </select>
              </div>
            </div>
            <button type="submit" ?disabled=${this.busy}>${t('topup.submit')}</button>
          </form>`
        : ''}
      <p role="status" class="ok">${this.message}</p>
      ${this.error ? html`<p role="alert" class="error">${this.error}</p>` : ''}
    </section>`;
  }
}
customElements.define('bp-wallet', BpWallet);
