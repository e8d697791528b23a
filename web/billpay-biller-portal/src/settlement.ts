import { html } from 'lit';
import { request } from '../../src/lib/api';
import { businessDay, formatDate } from '../../src/lib/i18n';
import { p, word } from './messages';
import { Screen, all, fileText, money } from './screen';

interface Totals {
  payments_count: number;
  payments_amount: number;
  biller_fees: number;
  refunds_count: number;
  refunds_amount: number;
  net_amount: number;
}

interface Report {
  date: string;
  currency: string;
  totals: Totals;
}

interface Batch {
  id: string;
  currency: string;
  cutoff: string;
  bank_reference: string;
  totals: Totals;
}

interface Exception {
  id: string;
  batch_id: string;
  kind: string;
  item_id: string;
  expected_amount: number | null;
  reported_amount: number | null;
  status: string;
}

/** Saves `text` as a file the person downloads. */
function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Settlement: the day's report with its CSV, the batches BillPay settled, a reconciliation file
 * checked against a batch, and the exceptions queue, each closed with a note.
 */
export class BpPortalSettlement extends Screen {
  static properties = {
    ...Screen.properties,
    date: { state: true },
    report: { state: true },
    batches: { state: true },
    exceptions: { state: true },
  };
  date = businessDay(Date.now());
  report: Report | null = null;
  batches: Batch[] = [];
  exceptions: Exception[] = [];

  protected async load() {
    const [report, batches, exceptions] = await Promise.all([
      request<Report>(this.reportPath()),
      all<Batch>(`/v1/settlement-batches`, 100),
      all<Exception>(`/v1/reconciliation-exceptions?status=open`),
    ]);
    this.report = report;
    this.batches = batches;
    this.exceptions = exceptions;
  }

  private reportPath(csv = false) {
    return `/v1/billers/${this.billerId}/settlement-reports/${this.date}${csv ? '?format=csv' : ''}`;
  }

  private async downloadCsv() {
    await this.act(async () => {
      const text = await request<string>(this.reportPath(true), { accept: 'text/csv' });
      download(`settlement-${this.billerId}-${this.date}.csv`, text, 'text/csv');
      return '';
    });
  }

  private async reconcile(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const batch = String(new FormData(form).get('batch') ?? '');
    const text = await fileText(form.querySelector('input[type=file]'));
    if (!batch || !text) return;
    await this.act(async () => {
      const r = await request<{ matched: string[]; exceptions: unknown[] }>(
        `/v1/settlement-batches/${batch}/reconciliations?source=biller`,
        { body: text, contentType: 'text/csv' },
      );
      form.reset();
      return p('settlement.reconciled', { matched: r.matched.length, exceptions: r.exceptions.length });
    });
  }

  private async close(e: Event, x: Exception) {
    e.preventDefault();
    const note = String(new FormData(e.target as HTMLFormElement).get('note') ?? '').trim();
    await this.act(async () => {
      await request(`/v1/reconciliation-exceptions/${x.id}/close`, { body: { note } });
      return p('settlement.closed');
    });
  }

  private totals(t: Totals, currency: string) {
    return html`<dl data-testid="totals">
      <dt>${p('settlement.payments')} (${t.payments_count})</dt>
      <dd class="amount">${money(t.payments_amount, currency)}</dd>
      <dt>${p('settlement.fees')}</dt>
      <dd class="amount">${money(t.biller_fees, currency)}</dd>
      <dt>${p('settlement.refunds')} (${t.refunds_count})</dt>
      <dd class="amount">${money(t.refunds_amount, currency)}</dd>
      <dt>${p('settlement.net')}</dt>
      <dd class="amount" data-testid="net"><strong>${money(t.net_amount, currency)}</strong></dd>
    </dl>`;
  }

  private amount(n: number | null) {
    return n === null ? '—' : money(n, this.currency);
  }

  render() {
    return html`${this.status()}
      <section class="card" aria-labelledby="report-title">
        <h2 id="report-title">${p('settlement.report')}</h2>
        <form class="inline" @submit=${(e: Event) => (e.preventDefault(), void this.refresh())}>
          <div>
            <label for="report-date">${p('settlement.date')}</label>
            <input id="report-date" type="date" .value=${this.date} required @change=${(e: Event) => (this.date = (e.target as HTMLInputElement).value)} />
          </div>
          <div>
            <button type="submit">${p('settlement.show')}</button>
            <button type="button" class="secondary" data-testid="download" ?disabled=${this.busy} @click=${() => this.downloadCsv()}>${p('settlement.download')}</button>
          </div>
        </form>
        ${this.report ? this.totals(this.report.totals, this.report.currency) : ''}
      </section>
      <section class="card" aria-labelledby="batches-title">
        <h2 id="batches-title">${p('settlement.batches')}</h2>
        ${this.batches.length === 0
          ? html`<p class="muted">${p('none')}</p>`
          : html`<table>
              <thead>
                <tr>
                  <th scope="col">${p('settlement.batch')}</th>
                  <th scope="col">${p('settlement.cutoff')}</th>
                  <th scope="col">${p('settlement.bank_reference')}</th>
                  <th scope="col">${p('settlement.net')}</th>
                </tr>
              </thead>
              <tbody>
                ${this.batches.map(
                  (b) => html`<tr>
                    <td>${b.id}</td>
                    <td>${formatDate(b.cutoff)}</td>
                    <td>${b.bank_reference}</td>
                    <td class="amount">${money(b.totals.net_amount, b.currency)}</td>
                  </tr>`,
                )}
              </tbody>
            </table>`}
      </section>
      <section class="card" aria-labelledby="reconcile-title">
        <h2 id="reconcile-title">${p('settlement.reconcile')}</h2>
        <p class="muted">${p('settlement.reconcile_help')}</p>
        <form class="inline" @submit=${this.reconcile}>
          <div>
            <label for="reconcile-batch">${p('settlement.reconcile_batch')}</label>
            <select id="reconcile-batch" name="batch" required>
              ${this.batches.map((b) => html`<option value=${b.id}>${b.bank_reference} · ${formatDate(b.cutoff)}</option>`)}
            </select>
          </div>
          <div>
            <label for="reconcile-file">${p('settlement.reconcile_file')}</label>
            <input id="reconcile-file" type="file" accept=".csv,text/csv" required />
          </div>
          <div><button type="submit" ?disabled=${this.busy || this.batches.length === 0}>${p('settlement.reconcile_send')}</button></div>
        </form>
      </section>
      <section class="card" aria-labelledby="exceptions-title">
        <h2 id="exceptions-title">${p('settlement.exceptions')}</h2>
        ${this.exceptions.length === 0
          ? html`<p class="muted">${p('none')}</p>`
          : html`<table data-testid="exceptions">
              <thead>
                <tr>
                  <th scope="col">${p('settlement.kind')}</th>
                  <th scope="col">${p('settlement.item')}</th>
                  <th scope="col">${p('settlement.expected')}</th>
                  <th scope="col">${p('settlement.reported')}</th>
                  <th scope="col">${p('settlement.note')}</th>
                </tr>
              </thead>
              <tbody>
                ${this.exceptions.map(
                  (x) => html`<tr>
                    <td>${word('kind', x.kind)}</td>
                    <td>${x.item_id}</td>
                    <td class="amount">${this.amount(x.expected_amount)}</td>
                    <td class="amount">${this.amount(x.reported_amount)}</td>
                    <td>
                      <form class="inline" @submit=${(e: Event) => this.close(e, x)}>
                        <input name="note" required maxlength="1000" aria-label=${p('settlement.note_label', { item: x.item_id })} />
                        <button type="submit" ?disabled=${this.busy}>${p('settlement.close')}</button>
                      </form>
                    </td>
                  </tr>`,
                )}
              </tbody>
            </table>`}
      </section>`;
  }
}
customElements.define('bp-portal-settlement', BpPortalSettlement);
