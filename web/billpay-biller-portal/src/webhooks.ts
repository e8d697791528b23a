import { html } from 'lit';
import { request } from '../../src/lib/api';
import { formatDate } from '../../src/lib/i18n';
import { p, word } from './messages';
import { Screen, all } from './screen';

interface Endpoint {
  id: string;
  url: string;
  description: string;
  event_types: string[];
  status: string;
  previous_secret_expires_at: string | null;
  secret: string | null;
}

interface Delivery {
  event_id: string;
  event_type: string;
  status: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
}

/** Webhooks: the biller's endpoints, a new one, secret rotation, each endpoint's delivery log, and replay. */
export class BpPortalWebhooks extends Screen {
  static properties = {
    ...Screen.properties,
    endpoints: { state: true },
    secret: { state: true },
    shown: { state: true },
    deliveries: { state: true },
  };
  endpoints: Endpoint[] = [];
  /** A secret just made (shown once, as the API shows it once). */
  secret: { url: string; value: string } | null = null;
  /** The endpoint whose deliveries are open. */
  shown: Endpoint | null = null;
  deliveries: Delivery[] = [];

  protected async load() {
    this.endpoints = await all<Endpoint>('/v1/webhook-endpoints');
    if (this.shown) this.deliveries = await all<Delivery>(`/v1/webhook-endpoints/${this.shown.id}/deliveries`, 100);
  }

  private async add(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const data = new FormData(form);
    const url = String(data.get('url') ?? '').trim();
    const events = String(data.get('events') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const description = String(data.get('description') ?? '').trim();
    await this.act(async () => {
      const made = await request<Endpoint>('/v1/webhook-endpoints', {
        body: { url, event_types: events, ...(description ? { description } : {}) },
      });
      form.reset();
      this.secret = made.secret ? { url: made.url, value: made.secret } : null;
      return '';
    });
  }

  private rotate(ep: Endpoint) {
    void this.act(async () => {
      const r = await request<Endpoint>(`/v1/webhook-endpoints/${ep.id}/rotate-secret`, { body: {} });
      this.secret = r.secret ? { url: r.url, value: r.secret } : null;
      return r.previous_secret_expires_at ? p('webhooks.rotated', { when: formatDate(r.previous_secret_expires_at) }) : '';
    });
  }

  private disable(ep: Endpoint) {
    void this.act(async () => {
      await request(`/v1/webhook-endpoints/${ep.id}`, { method: 'DELETE' });
      return word('status', 'disabled');
    });
  }

  private show(ep: Endpoint) {
    this.shown = ep;
    void this.refresh();
  }

  private replay(d: Delivery) {
    const ep = this.shown;
    if (!ep) return;
    void this.act(async () => {
      await request(`/v1/webhook-endpoints/${ep.id}/deliveries/${d.event_id}/replay`, { method: 'POST' });
      return p('webhooks.replayed', { event: d.event_type });
    });
  }

  private log(ep: Endpoint) {
    return html`<section class="card" aria-labelledby="deliveries-title" data-testid="deliveries">
      <h2 id="deliveries-title">${p('webhooks.deliveries_of', { url: ep.url })}</h2>
      ${this.deliveries.length === 0
        ? html`<p class="muted">${p('none')}</p>`
        : html`<table>
            <thead>
              <tr>
                <th scope="col">${p('webhooks.event')}</th>
                <th scope="col">${p('payments.date')}</th>
                <th scope="col">${p('bills.status')}</th>
                <th scope="col">${p('webhooks.attempts')}</th>
                <th scope="col">${p('webhooks.last')}</th>
                <th scope="col"><span class="sr-only">${p('webhooks.replay')}</span></th>
              </tr>
            </thead>
            <tbody>
              ${this.deliveries.map(
                (d) => html`<tr>
                  <td>${d.event_type}</td>
                  <td>${formatDate(d.created_at)}</td>
                  <td>${word('status', d.status)}</td>
                  <td>${d.attempts}</td>
                  <td>${d.last_status ?? d.last_error ?? '—'}</td>
                  <td>
                    <button type="button" class="secondary" aria-label=${p('webhooks.replay_label', { event: d.event_id })} ?disabled=${this.busy} @click=${() => this.replay(d)}>
                      ${p('webhooks.replay')}
                    </button>
                  </td>
                </tr>`,
              )}
            </tbody>
          </table>`}
    </section>`;
  }

  render() {
    return html`<section class="card" aria-labelledby="webhooks-title">
        <h2 id="webhooks-title">${p('webhooks.title')}</h2>
        ${this.status()}
        ${this.secret
          ? html`<div data-testid="secret">
              <p>${p('webhooks.secret', { url: this.secret.url })}</p>
              <pre>${this.secret.value}</pre>
            </div>`
          : ''}
        ${this.endpoints.length === 0
          ? html`<p class="muted">${p('none')}</p>`
          : html`<ul data-testid="endpoints">
              ${this.endpoints.map(
                (ep) => html`<li>
                  <strong>${ep.url}</strong> · ${word('status', ep.status)} · ${ep.event_types.join(', ')}
                  ${ep.description ? html`<span class="muted">· ${ep.description}</span>` : ''}
                  <div>
                    <button type="button" class="secondary" aria-label=${p('webhooks.deliveries_label', { url: ep.url })} @click=${() => this.show(ep)}>${p('webhooks.deliveries')}</button>
                    ${ep.status === 'enabled'
                      ? html`<button type="button" class="secondary" aria-label=${p('webhooks.rotate_label', { url: ep.url })} ?disabled=${this.busy} @click=${() => this.rotate(ep)}>
                            ${p('webhooks.rotate')}
                          </button>
                          <button type="button" class="secondary" aria-label=${p('webhooks.disable_label', { url: ep.url })} ?disabled=${this.busy} @click=${() => this.disable(ep)}>
                            ${p('webhooks.disable')}
                          </button>`
                      : ''}
                  </div>
                </li>`,
              )}
            </ul>`}
        <form @submit=${this.add}>
          <div class="row">
            <div>
              <label for="hook-url">${p('webhooks.url')}</label>
              <input id="hook-url" name="url" type="url" required />
            </div>
            <div>
              <label for="hook-events">${p('webhooks.events')}</label>
              <input id="hook-events" name="events" required value="*" />
            </div>
            <div>
              <label for="hook-description">${p('webhooks.description')}</label>
              <input id="hook-description" name="description" maxlength="200" />
            </div>
          </div>
          <button type="submit" ?disabled=${this.busy}>${p('webhooks.add')}</button>
        </form>
      </section>
      ${this.shown ? this.log(this.shown) : ''}`;
  }
}
customElements.define('bp-portal-webhooks', BpPortalWebhooks);
