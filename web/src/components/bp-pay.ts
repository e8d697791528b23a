import { html } from 'lit';
import { ApiError, type Bill, type Biller, type List, type Payment, billers, newIdempotencyKey, request } from '../lib/api';
import { categoryLabel, formatDate, locale, t } from '../lib/i18n';
import { feeOn, formatMoney, parseMoney } from '../lib/money';
import { BpElement, errorText, shared } from './base';

/**
 * Find a biller, look a bill up by reference, and pay it in full or in part as the biller
 * allows. `mode` is the experiment: `review` (app A) shows a review step before paying;
 * `one-step` (app B) pays from the form.
 *
 * Each attempt carries one Idempotency-Key, made when the payment is prepared and kept across
 * retries and double clicks, so the same attempt never pays twice. Changing the amount or the
 * bill starts a new attempt.
 */
export class BpPay extends BpElement {
  static properties = {
    mode: { type: String },
    categories: { type: Boolean },
    billers: { state: true },
    query: { state: true },
    biller: { state: true },
    bills: { state: true },
    bill: { state: true },
    amount: { state: true },
    reviewing: { state: true },
    busy: { state: true },
    error: { state: true },
    done: { state: true },
  };
  mode: 'review' | 'one-step' = 'review';
  categories = true;
  billers: Biller[] = [];
  query = '';
  biller: Biller | null = null;
  bills: Bill[] | null = null;
  bill: Bill | null = null;
  amount: number | null = null;
  reviewing = false;
  busy = false;
  error = '';
  done: Payment | null = null;
  private attemptKey = '';
  static styles = shared;

  async connectedCallback() {
    super.connectedCallback();
    this.billers = (await billers()).filter((b) => b.status === 'active');
  }

  private found(): Biller[] {
    const q = this.query.trim().toLocaleLowerCase();
    return this.billers.filter(
      (b) => !q || b.name.toLocaleLowerCase().includes(q) || categoryLabel(b.category).toLocaleLowerCase().includes(q),
    );
  }

  /** Starts paying `bill` (chosen from the customer's bills): its biller, the bill, its amount. */
  payBill(bill: Bill) {
    this.biller = this.billers.find((b) => b.id === bill.biller_id) ?? this.biller;
    this.bills = [bill];
    this.bill = bill;
    this.done = null;
    this.error = '';
    this.prepare(bill.amount_outstanding);
    this.scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  private chooseBiller(id: string) {
    this.biller = this.billers.find((b) => b.id === id) ?? null;
    this.bills = null;
    this.bill = null;
    this.done = null;
    this.error = '';
  }

  private async lookup(e: Event) {
    e.preventDefault();
    if (!this.biller) return;
    const reference = (this.renderRoot.querySelector('#reference') as HTMLInputElement).value.trim();
    // A barcode pasted where the reference goes is read as a barcode.
    if (looksLikeBarcode(reference)) return this.find(`barcode=${encodeURIComponent(reference)}`);
    await this.find(`biller_id=${encodeURIComponent(this.biller.id)}&reference=${encodeURIComponent(reference)}`);
  }

  private async lookupBarcode(e: Event) {
    e.preventDefault();
    const code = (this.renderRoot.querySelector('#barcode') as HTMLInputElement).value.trim();
    await this.find(`barcode=${encodeURIComponent(code)}`);
  }

  private async find(query: string) {
    this.error = '';
    this.done = null;
    try {
      const list = await request<List<Bill>>(`/v1/bills/lookup?${query}`);
      const first = list.data[0];
      if (first && first.biller_id !== this.biller?.id) {
        this.biller = this.billers.find((b) => b.id === first.biller_id) ?? this.biller;
      }
      this.bills = list.data.filter((b) => b.status !== 'cancelled');
      this.bill = this.bills.find((b) => b.amount_outstanding > 0) ?? this.bills[0] ?? null;
      this.prepare(this.bill?.amount_outstanding ?? null);
    } catch (err) {
      this.bills = null;
      this.error = errorText(err);
    }
  }

  /** A new attempt at paying `amount`: a fresh idempotency key. */
  private prepare(amount: number | null) {
    this.amount = amount;
    this.reviewing = false;
    this.attemptKey = newIdempotencyKey();
  }

  private readAmount(): number | null {
    const input = this.renderRoot.querySelector('#amount') as HTMLInputElement | null;
    if (!input || !this.bill) return this.amount;
    const typed = parseMoney(input.value, this.bill.currency, locale());
    if (typed !== this.amount) this.prepare(typed);
    return typed;
  }

  private submit(e: Event) {
    e.preventDefault();
    const amount = this.readAmount();
    if (amount === null) {
      this.error = t('pay.bad_amount');
      return;
    }
    this.error = '';
    if (this.mode === 'review') this.reviewing = true;
    else void this.pay();
  }

  private async pay() {
    if (!this.bill || this.amount === null || this.busy) return;
    this.busy = true;
    this.error = '';
    try {
      this.done = await request<Payment>('/v1/payments', {
        body: { bill_id: this.bill.id, amount: this.amount, currency: this.bill.currency },
        idempotencyKey: this.attemptKey,
      });
      this.reviewing = false;
      this.bill = await request<Bill>(`/v1/bills/${this.bill.id}`);
      this.prepare(this.bill.amount_outstanding > 0 ? this.bill.amount_outstanding : null);
      this.dispatchEvent(new CustomEvent('paid', { detail: this.done, bubbles: true, composed: true }));
    } catch (err) {
      // A network failure keeps the key: trying again cannot pay twice.
      this.error = errorText(err);
      if (err instanceof ApiError && err.status !== 0) this.attemptKey = newIdempotencyKey();
    } finally {
      this.busy = false;
    }
  }

  private money(minor: number, currency: string) {
    return formatMoney(minor, currency, locale());
  }

  private renderBill(bill: Bill, biller: Biller) {
    const fee = this.amount === null ? 0 : feeOn(this.amount, biller.fee.fixed, biller.fee.bps);
    const total = this.amount === null ? 0 : biller.fee.payer === 'customer' ? this.amount + fee : this.amount;
    const editable = biller.amount_rule !== 'exact';
    if (this.reviewing && this.amount !== null) {
      return html`<section class="card" aria-labelledby="review-title" data-testid="review">
        <h3 id="review-title">${t('pay.review.title')}</h3>
        <table>
          <tr><th scope="row">${t('lookup.biller')}</th><td>${biller.name}</td></tr>
          <tr><th scope="row">${t('lookup.reference')}</th><td>${bill.reference}</td></tr>
          <tr><th scope="row">${t('pay.amount')}</th><td class="amount">${this.money(this.amount, bill.currency)}</td></tr>
          <tr><th scope="row">${t('pay.fee')}</th><td class="amount">${this.money(fee, bill.currency)}</td></tr>
          <tr><th scope="row">${t('pay.total')}</th><td class="amount"><strong>${this.money(total, bill.currency)}</strong></td></tr>
        </table>
        <button type="button" data-testid="confirm" ?disabled=${this.busy} @click=${() => this.pay()}>
          ${this.busy ? t('pay.paying') : t('pay.confirm')}
        </button>
        <button type="button" class="secondary" ?disabled=${this.busy} @click=${() => (this.reviewing = false)}>${t('pay.back')}</button>
      </section>`;
    }
    return html`<form class="card" @submit=${this.submit} data-testid="bill">
      <h3>${biller.name} · ${bill.reference}</h3>
      <p>
        ${bill.customer_name} · ${t('bill.due', { date: formatDate(bill.due_date) })}
        ${bill.overdue ? html`<strong class="error">${t('bill.overdue')}</strong>` : ''}
      </p>
      <p>${t('bill.outstanding')}: <strong class="amount" data-testid="outstanding">${this.money(bill.amount_outstanding, bill.currency)}</strong></p>
      ${bill.amount_outstanding > 0
        ? html`<label for="amount">${t('pay.amount')} (${bill.currency})</label>
            <input
              id="amount"
              inputmode="decimal"
              autocomplete="off"
              .value=${this.amount === null ? '' : formatMoney(this.amount, bill.currency, locale()).replace(/[^\d.,]/g, '')}
              ?readonly=${!editable}
              aria-describedby="amount-hint"
              @change=${() => this.readAmount()}
            />
            <p id="amount-hint" class="muted">${editable ? t('pay.partial.hint') : t('pay.exact.hint')}</p>
            <p>${t('pay.fee')}: <span class="amount">${this.money(fee, bill.currency)}</span> · ${t('pay.total')}:
              <strong class="amount" data-testid="total">${this.money(total, bill.currency)}</strong></p>
            <button type="submit" data-testid="pay" ?disabled=${this.busy}>
              ${this.busy ? t('pay.paying') : this.mode === 'review' ? t('pay.review') : t('pay.now')}
            </button>`
        : html`<p class="ok">${t('bill.paid')}</p>`}
    </form>`;
  }

  render() {
    const biller = this.biller;
    return html`<form class="card" id="barcode-form" @submit=${this.lookupBarcode} aria-labelledby="barcode-title">
        <h2 id="barcode-title">${t('barcode.title')}</h2>
        <label for="barcode">${t('barcode.label')}</label>
        <input id="barcode" autocomplete="off" inputmode="text" required aria-describedby="barcode-hint" />
        <p id="barcode-hint" class="muted">${t('barcode.hint')}</p>
        <button type="submit" class="secondary">${t('barcode.submit')}</button>
      </form>
      <section class="card" aria-labelledby="billers-title">
        <h2 id="billers-title">${t('billers.title')}</h2>
        <label for="search">${t('billers.search')}</label>
        <input id="search" type="search" .value=${this.query} @input=${(e: Event) => (this.query = (e.target as HTMLInputElement).value)} />
        <ul data-testid="billers">
          ${this.found().map(
            (b) => html`<li>
              <button type="button" class="secondary" data-biller=${b.id} @click=${() => this.chooseBiller(b.id)}
                aria-pressed=${this.biller?.id === b.id ? 'true' : 'false'}>
                ${b.name}${this.categories ? html` <span class="muted">· ${categoryLabel(b.category)}</span>` : ''}
              </button>
            </li>`,
          )}
        </ul>
        ${this.found().length === 0 ? html`<p class="muted">${t('billers.none')}</p>` : ''}
      </section>
      ${biller
        ? html`<form class="card" id="lookup-form" @submit=${this.lookup} aria-labelledby="lookup-title">
            <h2 id="lookup-title">${t('lookup.title')}: ${biller.name}</h2>
            <label for="reference">${t('lookup.reference')}</label>
            <input id="reference" autocomplete="off" required aria-describedby="reference-hint" />
            <p id="reference-hint" class="muted">${biller.reference_hint}</p>
            <button type="submit">${t('lookup.submit')}</button>
          </form>`
        : ''}
      ${this.bills && this.bills.length === 0 ? html`<p class="card muted">${t('lookup.none')}</p>` : ''}
      ${this.bill && biller ? this.renderBill(this.bill, biller) : ''}
      ${this.error ? html`<p role="alert" class="error card">${this.error}</p>` : ''}
      ${this.done
        ? html`<p role="status" class="ok card" data-testid="paid">${t('pay.done', { confirmation: this.done.confirmation_number })}</p>`
        : ''}`;
  }
}
customElements.define('bp-pay', BpPay);

/** Whether `text` is an invoice barcode (GS1-128: it starts with the biller's (415) number). */
export function looksLikeBarcode(text: string): boolean {
  const t = text.replace(/\s/g, '');
  return /^\(415\)\d/.test(t) || /^415\d{13}8020/.test(t);
}
