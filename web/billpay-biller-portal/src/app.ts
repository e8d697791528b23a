import { LitElement, css, html } from 'lit';

import { type Locale, pickLocale, t } from './i18n';

type Status = { state: 'checking' } | { state: 'up' } | { state: 'down'; reason: string };

/** Reads /config.json, then asks the API whether it is ready. */
export async function checkApi(fetcher: typeof fetch = fetch): Promise<Status> {
  try {
    const config = await fetcher('/config.json');
    if (!config.ok) return { state: 'down', reason: `config.json: HTTP ${config.status}` };
    const { apiBaseUrl } = (await config.json()) as { apiBaseUrl?: string };
    const base = (apiBaseUrl ?? '/').replace(/\/$/, '');
    const ready = await fetcher(`${base}/readyz`);
    return ready.ok ? { state: 'up' } : { state: 'down', reason: `HTTP ${ready.status}` };
  } catch (e) {
    return { state: 'down', reason: e instanceof Error ? e.message : String(e) };
  }
}

export class App extends LitElement {
  static properties = { status: { state: true }, locale: { state: true } };
  static styles = css`
    :host { display: block; font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; }
    [role='status'] { padding: 0.75rem; border-radius: 0.5rem; background: #f1f5f9; }
  `;

  status: Status = { state: 'checking' };
  locale: Locale = pickLocale(navigator.languages ?? [navigator.language]);
  fetcher: typeof fetch = (...args) => fetch(...args);

  connectedCallback(): void {
    super.connectedCallback();
    document.documentElement.lang = this.locale;
    void checkApi(this.fetcher).then((s) => (this.status = s));
  }

  render() {
    const s = this.status;
    const line = s.state === 'down' ? t(this.locale, 'down', { reason: s.reason }) : t(this.locale, s.state);
    return html`<h1>${t(this.locale, 'title')}</h1>
      <p role="status">${line}</p>`;
  }
}

customElements.define('billpay-biller-portal-app', App);
