import { html } from 'lit';
import { ApiError, type Bill, newIdempotencyKey, request } from '../../src/lib/api';
import { formatDate } from '../../src/lib/i18n';
import { p, word } from './messages';
import { Screen, fileText, money, paged } from './screen';

const STATUSES = ['open', 'partially_paid', 'paid', 'cancelled'] as const;

/** Bills: upload a CSV file (all rows or none, each bad row named), list them, cancel one. */
export class BpPortalBills extends Screen {
  static properties = {
    ...Screen.properties,
    bills: { state: true },
    rows: { state: true },
    filter: { state: true },
    cursor: { state: true },
  };
  bills: Bill[] = [];
  /** The rows the last upload was refused for. */
  rows: { location: string; detail: string }[] = [];
  filter = '';
  cursor: string | null = null;

  protected async load(more = false) {
    const path = `/v1/bills${this.filter ? `?status=${this.filter}` : ''}`;
    [this.bills, this.cursor] = await paged(path, this.bills, this.cursor, more);
  }

  private async upload(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const text = await fileText(form.querySelector('input[type=file]'));
    if (!text) return;
    this.rows = [];
    const key = newIdempotencyKey();
    await this.act(async () => {
      try {
        const r = await request<{ created: number }>('/v1/bills/bulk', { body: text, contentType: 'text/csv', idempotencyKey: key });
        form.reset();
        return p('bills.created', { count: r.created });
      } catch (err) {
        if (err instanceof ApiError && err.errors.length) this.rows = err.errors;
        throw err;
      }
    });
  }

  private cancel(b: Bill) {
    void this.act(async () => {
      await request(`/v1/bills/${b.id}/cancel`, { method: 'POST' });
      return p('bills.cancelled', { reference: b.reference });
    });
  }

  render() {
    return html`<section class="card" aria-labelledby="upload-title">
        <h2 id="upload-title">${p('bills.upload')}</h2>
        <p class="muted">${p('bills.upload_help')}</p>
        <form class="inline" @submit=${this.upload}>
          <div>
            <label for="bills-file">${p('bills.file')}</label>
            <input id="bills-file" type="file" accept=".csv,text/csv" required />
          </div>
          <div><button type="submit" ?disabled=${this.busy}>${p('bills.send')}</button></div>
        </form>
        ${this.status()}
        ${this.rows.length
          ? html`<table data-testid="row-errors">
              <caption>${p('bills.rejected')}</caption>
              <thead><tr><th scope="col">${p('bills.row')}</th><th scope="col">${p('bills.problem')}</th></tr></thead>
              <tbody>${this.rows.map((r) => html`<tr><td>${r.location}</td><td>${r.detail}</td></tr>`)}</tbody>
            </table>`
          : ''}
      </section>
      <section class="card" aria-labelledby="bills-title">
        <h2 id="bills-title">${p('bills.list')}</h2>
        <label for="bills-status">${p('bills.status')}</label>
        <select
          id="bills-status"
          @change=${(e: Event) => {
            this.filter = (e.target as HTMLSelectElement).value;
            void this.refresh();
          }}
        >
          <option value="">${p('bills.all')}</option>
          ${STATUSES.map((s) => html`<option value=${s} ?selected=${s === this.filter}>${word('status', s)}</option>`)}
        </select>
        ${this.bills.length === 0
          ? html`<p class="muted">${p('none')}</p>`
          : html`<table data-testid="bills">
              <thead>
                <tr>
                  <th scope="col">${p('bills.reference')}</th>
                  <th scope="col">${p('bills.customer')}</th>
                  <th scope="col">${p('bills.amount')}</th>
                  <th scope="col">${p('bills.outstanding')}</th>
                  <th scope="col">${p('bills.due')}</th>
                  <th scope="col">${p('bills.status')}</th>
                  <th scope="col"><span class="sr-only">${p('bills.cancel')}</span></th>
                </tr>
              </thead>
              <tbody>
                ${this.bills.map(
                  (b) => html`<tr>
                    <td>${b.reference}</td>
                    <td>${b.customer_name}</td>
                    <td class="amount">${money(b.amount_due, b.currency)}</td>
                    <td class="amount">${money(b.amount_outstanding, b.currency)}</td>
                    <td>${formatDate(b.due_date)}${b.overdue ? html` · <strong class="deadline-late">${p('bills.overdue')}</strong>` : ''}</td>
                    <td>${word('status', b.status)}</td>
                    <td>
                      ${b.status === 'open'
                        ? html`<button type="button" class="secondary" aria-label=${p('bills.cancel_label', { reference: b.reference })} ?disabled=${this.busy} @click=${() => this.cancel(b)}>
                            ${p('bills.cancel')}
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
customElements.define('bp-portal-bills', BpPortalBills);
