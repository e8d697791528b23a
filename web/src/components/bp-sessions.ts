import { html } from 'lit';
import { request } from '../lib/api';
import { locale, t } from '../lib/i18n';
import { passkeysSupported, registerPasskey } from '../lib/passkey';
import { BpElement, errorText, shared } from './base';
import { dateTimeFormat } from '../lib/intl';

export interface SessionView {
  id: string;
  created_at: string;
  last_seen_at: string;
  user_agent: string;
  current: boolean;
}

export interface PasskeyView {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

/**
 * The account's security: its passkeys (add, remove), and the browsers and phones signed in to
 * it; each can be signed out, or all at once.
 */
export class BpSessions extends BpElement {
  static properties = {
    sessions: { state: true },
    passkeys: { state: true },
    error: { state: true },
    message: { state: true },
    busy: { state: true },
  };
  sessions: SessionView[] = [];
  passkeys: PasskeyView[] = [];
  message = '';
  error = '';
  busy = false;
  static styles = shared;

  connectedCallback() {
    super.connectedCallback();
    void this.refresh();
  }

  async refresh() {
    try {
      this.sessions = (await request<{ data: SessionView[] }>('/v1/auth/sessions')).data;
      this.passkeys = (await request<{ data: PasskeyView[] }>('/v1/auth/passkeys')).data;
    } catch (e) {
      this.error = errorText(e);
    }
  }

  private async end(id: string) {
    this.busy = true;
    try {
      await request(`/v1/auth/sessions/${id}`, { method: 'DELETE' });
      await this.refresh();
    } catch (e) {
      this.error = errorText(e);
    } finally {
      this.busy = false;
    }
  }

  private async addPasskey() {
    this.busy = true;
    this.error = '';
    this.message = '';
    try {
      await registerPasskey(navigator.platform || 'Passkey');
      this.message = t('passkeys.added');
      await this.refresh();
    } catch {
      this.error = t('passkeys.failed');
    } finally {
      this.busy = false;
    }
  }

  private async removePasskey(id: string) {
    this.busy = true;
    try {
      await request(`/v1/auth/passkeys/${id}`, { method: 'DELETE' });
      await this.refresh();
    } catch (e) {
      this.error = errorText(e);
    } finally {
      this.busy = false;
    }
  }

  private async endAll() {
    this.busy = true;
    try {
      await request('/v1/auth/sessions', { method: 'DELETE' });
      this.dispatchEvent(new CustomEvent('signed-out', { bubbles: true, composed: true }));
    } catch (e) {
      this.error = errorText(e);
    } finally {
      this.busy = false;
    }
  }

  private when(iso: string): string {
    return dateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
  }

  render() {
    return html`<section class="card" aria-labelledby="passkeys-title">
        <h2 id="passkeys-title">${t('passkeys.title')}</h2>
        ${this.passkeys.length
          ? html`<ul data-testid="passkeys">
              ${this.passkeys.map(
                (p) => html`<li data-passkey=${p.id}>
                  <strong>${p.name}</strong>
                  <span class="muted">${t('passkeys.created', { when: this.when(p.created_at) })}</span>
                  <button type="button" class="secondary" ?disabled=${this.busy} @click=${() => this.removePasskey(p.id)}>
                    ${t('passkeys.remove')}
                  </button>
                </li>`,
              )}
            </ul>`
          : html`<p>${t('passkeys.none')}</p>`}
        ${passkeysSupported()
          ? html`<button type="button" data-testid="add-passkey" ?disabled=${this.busy} @click=${() => this.addPasskey()}>
              ${t('passkeys.add')}
            </button>`
          : ''}
        <p role="status" class="ok">${this.message}</p>
      </section>
      <section class="card" aria-labelledby="sessions-title">
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
