import { html } from 'lit';
import { ApiError, request } from '../lib/api';
import { locale, t } from '../lib/i18n';
import { BpElement, shared } from './base';

export interface SessionView {
  id: string;
  created_at: string;
  last_seen_at: string;
  user_agent: string;
  current: boolean;
}

/** The browsers and phones signed in to this account; each can be signed out, or all at once. */
export class BpSessions extends BpElement {
  static properties = { sessions: { state: true }, error: { state: true }, busy: { state: true } };
  sessions: SessionView[] = [];
  error = '';
  busy = false;
  static styles = shared;

  connectedCallback() {
    super.connectedCallback();
    void this.refresh();
  }

  async refresh() {
    try {
      this.sessions = (await request<{ data: SessionView[] }>('/v1/auth/sessions', null)).data;
    } catch (e) {
      this.error = e instanceof ApiError && e.status !== 0 ? e.detail : t('error.network');
    }
  }

  private async end(id: string) {
    this.busy = true;
    try {
      await request(`/v1/auth/sessions/${id}`, null, { method: 'DELETE' });
      await this.refresh();
    } catch (e) {
      this.error = e instanceof ApiError && e.status !== 0 ? e.detail : t('error.network');
    } finally {
      this.busy = false;
    }
  }

  private async endAll() {
    this.busy = true;
    try {
      await request('/v1/auth/sessions', null, { method: 'DELETE' });
      this.dispatchEvent(new CustomEvent('signed-out', { bubbles: true, composed: true }));
    } catch (e) {
      this.error = e instanceof ApiError && e.status !== 0 ? e.detail : t('error.network');
    } finally {
      this.busy = false;
    }
  }

  private when(iso: string): string {
    return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
  }

  render() {
    return html`<section class="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">${t('sessions.title')}</h2>
      <ul data-testid="sessions">
        ${this.sessions.map(
          (s) => html`<li data-session=${s.id}>
            <strong>${s.current ? t('sessions.this') : s.user_agent || t('sessions.unknown')}</strong>
            <span class="muted">${t('sessions.since', { when: this.when(s.created_at) })}</span>
            ${s.current
              ? ''
              : html`<button type="button" class="secondary" ?disabled=${this.busy} @click=${() => this.end(s.id)}>
                  ${t('sessions.end')}
                </button>`}
          </li>`,
        )}
      </ul>
      <button type="button" class="secondary" ?disabled=${this.busy} @click=${() => this.endAll()}>${t('sessions.endAll')}</button>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
    </section>`;
  }
}
customElements.define('bp-sessions', BpSessions);
