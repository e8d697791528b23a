import { html } from 'lit';
import { newIdempotencyKey, request } from '../../src/lib/api';
import { formatDate, locale } from '../../src/lib/i18n';
import { parseMoney } from '../../src/lib/money';
import { p, word } from './messages';
import { Screen, all } from './screen';

export interface Complaint {
  id: string;
  payment_id: string | null;
  bill_id: string | null;
  type: string;
  description: string;
  status: string;
  assignee: string | null;
  respond_by: string;
  escalated_at: string | null;
  response: string | null;
  resolution: string | null;
  created_at: string;
  history: { action: string; actor: string; note: string | null; created_at: string }[];
}

const DONE = ['resolved', 'closed'];

/** The hours left to answer (negative once the deadline passed). */
export function hoursLeft(c: Complaint, now: number): number {
  return Math.floor((Date.parse(c.respond_by) - now) / 3_600_000);
}

/**
 * The complaints inbox: the biller's complaints by deadline, soonest first, and one at a time
 * assigned, answered (the customer sees the answer in their app) and resolved, with a refund
 * when one is due.
 */
export class BpPortalComplaints extends Screen {
  static properties = { ...Screen.properties, complaints: { state: true }, current: { state: true }, everything: { state: true } };
  complaints: Complaint[] = [];
  current: Complaint | null = null;
  everything = false;
  /** One key per opened complaint's resolution: a retried click never refunds twice. */
  private resolveKey = '';

  protected async load() {
    const list = await all<Complaint>('/v1/complaints');
    this.complaints = list
      .filter((c) => this.everything || !DONE.includes(c.status))
      .sort((a, b) => a.respond_by.localeCompare(b.respond_by));
    if (this.current) this.current = await request<Complaint>(`/v1/complaints/${this.current.id}`);
  }

  private async open(c: Complaint) {
    this.resolveKey = newIdempotencyKey();
    this.message = '';
    this.current = await request<Complaint>(`/v1/complaints/${c.id}`);
  }

  private async step(e: Event, action: 'assign' | 'respond' | 'resolve') {
    e.preventDefault();
    const c = this.current;
    if (!c) return;
    // The event's target is gone once it is handled (it is in a shadow tree): keep the form.
    const form = e.target as HTMLFormElement;
    const data = new FormData(form);
    const text = (k: string) => String(data.get(k) ?? '').trim();
    let body: Record<string, unknown>;
    if (action === 'assign') body = { assignee: text('assignee') };
    else if (action === 'respond') body = { message: text('message') };
    else {
      const refund = text('refund');
      const amount = refund ? parseMoney(refund, this.currency, locale()) : null;
      if (refund && (amount === null || amount <= 0)) {
        this.error = p('payments.bad_amount');
        return;
      }
      body = { resolution: text('resolution'), ...(amount ? { refund_amount: amount } : {}) };
    }
    await this.act(async () => {
      const r = await request<Complaint>(`/v1/complaints/${c.id}/${action}`, {
        body,
        ...(action === 'resolve' ? { idempotencyKey: this.resolveKey } : {}),
      });
      form.reset();
      return p('complaints.done', { status: word('status', r.status) });
    });
  }

  private deadline(c: Complaint, now: number) {
    if (DONE.includes(c.status)) return formatDate(c.respond_by);
    const h = hoursLeft(c, now);
    return h < 0
      ? html`<span class="deadline-late">${p('complaints.late')}</span>`
      : html`${formatDate(c.respond_by)} · ${p('complaints.left', { hours: h })}`;
  }

  private detail(c: Complaint) {
    const may = (from: string[]) => from.includes(c.status);
    return html`<section class="card" aria-labelledby="complaint-title" data-testid="complaint">
      <h2 id="complaint-title">${word('type', c.type)} · ${word('status', c.status)}</h2>
      ${c.escalated_at ? html`<p class="error">${p('complaints.escalated')}</p>` : ''}
      <h3>${p('complaints.description')}</h3>
      <p>${c.description}</p>
      <h3>${p('complaints.history')}</h3>
      <ol>
        ${c.history.map((h) => html`<li>${formatDate(h.created_at)} · ${word('status', h.action)} · ${h.actor}${h.note ? html` · ${h.note}` : ''}</li>`)}
      </ol>
      ${may(['open', 'assigned'])
        ? html`<form class="inline" @submit=${(e: Event) => this.step(e, 'assign')}>
            <div>
              <label for="c-assignee">${p('complaints.assignee')}</label>
              <input id="c-assignee" name="assignee" required maxlength="200" .value=${c.assignee ?? ''} />
            </div>
            <div><button type="submit" ?disabled=${this.busy}>${p('complaints.assign')}</button></div>
          </form>`
        : ''}
      ${may(['open', 'assigned', 'responded'])
        ? html`<form @submit=${(e: Event) => this.step(e, 'respond')}>
              <label for="c-message">${p('complaints.message')}</label>
              <textarea id="c-message" name="message" required maxlength="2000" rows="3"></textarea>
              <button type="submit" ?disabled=${this.busy}>${p('complaints.respond')}</button>
            </form>
            <form @submit=${(e: Event) => this.step(e, 'resolve')}>
              <label for="c-resolution">${p('complaints.resolution')}</label>
              <textarea id="c-resolution" name="resolution" required maxlength="2000" rows="2"></textarea>
              ${c.payment_id
                ? html`<label for="c-refund">${p('complaints.refund')}</label>
                    <input id="c-refund" name="refund" inputmode="decimal" />`
                : ''}
              <button type="submit" ?disabled=${this.busy}>${p('complaints.resolve')}</button>
            </form>`
        : ''}
    </section>`;
  }

  render() {
    const now = Date.now();
    return html`<section class="card" aria-labelledby="complaints-title">
        <h2 id="complaints-title">${p('complaints.title')}</h2>
        <label for="c-filter">${p('complaints.filter')}</label>
        <select
          id="c-filter"
          @change=${(e: Event) => {
            this.everything = (e.target as HTMLSelectElement).value === 'all';
            void this.refresh();
          }}
        >
          <option value="open">${p('complaints.open_ones')}</option>
          <option value="all">${p('complaints.all')}</option>
        </select>
        ${this.status()}
        ${this.complaints.length === 0
          ? html`<p class="muted">${p('none')}</p>`
          : html`<table data-testid="complaints">
              <thead>
                <tr>
                  <th scope="col">${p('complaints.type')}</th>
                  <th scope="col">${p('payments.date')}</th>
                  <th scope="col">${p('complaints.respond_by')}</th>
                  <th scope="col">${p('bills.status')}</th>
                  <th scope="col"><span class="sr-only">${p('complaints.open')}</span></th>
                </tr>
              </thead>
              <tbody>
                ${this.complaints.map(
                  (c) => html`<tr>
                    <td>${word('type', c.type)}${c.escalated_at ? html` · <strong>${p('complaints.escalated')}</strong>` : ''}</td>
                    <td>${formatDate(c.created_at)}</td>
                    <td>${this.deadline(c, now)}</td>
                    <td>${word('status', c.status)}</td>
                    <td>
                      <button type="button" class="secondary" aria-label=${p('complaints.open_label', { id: c.id })} @click=${() => this.read(this.open(c))}>${p('complaints.open')}</button>
                    </td>
                  </tr>`,
                )}
              </tbody>
            </table>`}
      </section>
      ${this.current ? this.detail(this.current) : ''}`;
  }
}
customElements.define('bp-portal-complaints', BpPortalComplaints);
