import { html, css } from 'lit';
import { type List, type Payment, billers, newIdempotencyKey, request } from '../lib/api';
import { type MessageKey, formatDate, locale, messages, t } from '../lib/i18n';
import { formatMoney } from '../lib/money';
import { BpActions, errorText, shared } from './base';

export interface Complaint {
  id: string;
  biller_id: string;
  payment_id: string | null;
  type: string;
  description: string;
  status: string;
  respond_by: string;
  escalated_at: string | null;
  response: string | null;
  resolution: string | null;
  refund_id: string | null;
  created_at: string;
}

const TYPES = ['paid_not_credited', 'duplicate_charge', 'wrong_amount', 'refund_not_received', 'other'] as const;

/** A complaint type's or status's words; an unknown one shows as it is. */
export function complaintLabel(group: 'type' | 'status', value: string): string {
  const key = `complaints.${group}.${value}`;
  return key in messages('en') ? t(key as MessageKey) : value;
}

/**
 * The customer's complaints about their payments: file one with a type and what happened, see
 * the biller's answer and the resolution, and close it.
 */
export class BpComplaints extends BpActions {
  static properties = {
    ...BpActions.properties,
    complaints: { state: true },
    payments: { state: true },
  };
  complaints: Complaint[] = [];
  payments: Payment[] = [];
  names = new Map<string, string>();
  static styles = [
    shared,
    css`
      ul {
        padding-left: 1.2rem;
      }
      li {
        margin-bottom: 0.75rem;
      }
      li button {
        width: auto;
        margin-left: 0.5rem;
      }
      textarea {
        width: 100%;
        min-height: 4rem;
        font: inherit;
      }
    `,
  ];

  connectedCallback() {
    super.connectedCallback();
    void this.refresh();
  }

  async refresh() {
    try {
      const [complaints, payments, all] = await Promise.all([
        request<List<Complaint>>('/v1/complaints?limit=20'),
        request<List<Payment>>('/v1/payments?limit=100'),
        billers(),
      ]);
      this.names = new Map(all.map((b) => [b.id, b.name]));
      this.complaints = complaints.data;
      this.payments = payments.data.slice(0, 20);
    } catch (e) {
      this.error = errorText(e);
    }
  }

  private value(id: string): string {
    return this.renderRoot.querySelector<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(`#${id}`)?.value.trim() ?? '';
  }

  private file(e: Event) {
    e.preventDefault();
    const description = this.value('complaint-description');
    if (!description) {
      this.error = t('complaints.needDescription');
      return;
    }
    void this.act(() =>
      request('/v1/complaints', {
        body: { payment_id: this.value('complaint-payment'), type: this.value('complaint-type'), description },
        idempotencyKey: newIdempotencyKey(),
      }).then(() => t('complaints.filed')),
    );
  }

  render() {
    return html`<section class="card" aria-labelledby="complaints-title">
      <h2 id="complaints-title">${t('complaints.title')}</h2>
      ${this.complaints.length
        ? html`<ul data-testid="complaints">
            ${this.complaints.map(
              (c) => html`<li data-complaint=${c.id}>
                <strong>${complaintLabel('type', c.type)}</strong> · ${this.names.get(c.biller_id) ?? c.biller_id} ·
                ${complaintLabel('status', c.status)}
                ${c.status === 'open' || c.status === 'assigned'
                  ? html`<br /><span class="muted">${t('complaints.respondBy', { date: formatDate(c.respond_by) })}</span>`
                  : ''}
                ${c.escalated_at ? html`<br /><span>${t('complaints.escalated')}</span>` : ''}
                ${c.response ? html`<br /><span data-testid="complaint-response">${t('complaints.response', { text: c.response })}</span>` : ''}
                ${c.resolution ? html`<br /><span>${t('complaints.resolution', { text: c.resolution })}</span>` : ''}
                ${c.status !== 'closed'
                  ? html`<button type="button" class="secondary" ?disabled=${this.busy}
                      @click=${() => this.act(() => request(`/v1/complaints/${c.id}/close`, { body: {} }).then(() => t('complaints.closed')))}>
                      ${t('complaints.close')}
                    </button>`
                  : ''}
              </li>`,
            )}
          </ul>`
        : html`<p class="muted">${t('complaints.empty')}</p>`}
      ${this.payments.length
        ? html`<form @submit=${(e: Event) => this.file(e)}>
            <h3>${t('complaints.new')}</h3>
            <label for="complaint-payment">${t('complaints.payment')}</label>
            <select id="complaint-payment">
              ${this.payments.map(
                (p) => html`<option value=${p.id}>
                  ${p.confirmation_number} · ${this.names.get(p.biller_id) ?? p.biller_id} · ${formatMoney(p.amount, p.currency, locale())}
                </option>`,
              )}
            </select>
            <label for="complaint-type">${t('complaints.typeLabel')}</label>
            <select id="complaint-type">
              ${TYPES.map((k) => html`<option value=${k}>${complaintLabel('type', k)}</option>`)}
            </select>
            <label for="complaint-description">${t('complaints.description')}</label>
            <textarea id="complaint-description" maxlength="2000"></textarea>
            <button type="submit" ?disabled=${this.busy}>${t('complaints.file')}</button>
          </form>`
        : ''}
      ${this.error ? html`<p role="alert" class="error">${this.error}</p>` : ''}
      <p role="status" class="ok">${this.message}</p>
    </section>`;
  }
}
customElements.define('bp-complaints', BpComplaints);
