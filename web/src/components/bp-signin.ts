import { html } from 'lit';
import { ApiError, request } from '../lib/api';
import { config, type DemoCustomer } from '../lib/config';
import { t } from '../lib/i18n';
import type { Session } from '../lib/session';
import { BpElement, shared } from './base';

interface Me {
  role: string;
  customer_id: string | null;
  name: string | null;
}

/** Customer sign-in with an API key; the demo offers its customers. Emits `signed-in`. */
export class BpSignin extends BpElement {
  static properties = { demo: { state: true }, error: { state: true }, busy: { state: true } };
  demo: DemoCustomer[] = [];
  error = '';
  busy = false;
  static styles = shared;

  async connectedCallback() {
    super.connectedCallback();
    this.demo = (await config()).demo?.customers ?? [];
  }

  async signIn(key: string) {
    this.busy = true;
    this.error = '';
    try {
      const me = await request<Me>('/v1/me', key.trim());
      if (me.role !== 'customer' || !me.customer_id) throw new ApiError(403, 'forbidden', '');
      const session: Session = { key: key.trim(), customerId: me.customer_id, name: me.name ?? me.customer_id };
      this.dispatchEvent(new CustomEvent('signed-in', { detail: session, bubbles: true, composed: true }));
    } catch (e) {
      this.error = e instanceof ApiError && e.status === 0 ? t('error.network') : t('signin.bad');
    } finally {
      this.busy = false;
    }
  }

  render() {
    return html`<section class="card" aria-labelledby="signin-title">
      <h2 id="signin-title">${t('signin.title')}</h2>
      <form
        @submit=${(e: Event) => {
          e.preventDefault();
          const input = this.renderRoot.querySelector<HTMLInputElement>('#key');
          if (input?.value) void this.signIn(input.value);
        }}
      >
        <label for="key">${t('signin.key')}</label>
        <input id="key" name="key" autocomplete="off" required />
        <button type="submit" ?disabled=${this.busy}>${t('signin.submit')}</button>
      </form>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      ${this.demo.length
        ? html`<h3>${t('signin.demo')}</h3>
            ${this.demo.map(
              (c) => html`<button type="button" class="secondary" data-customer=${c.id} @click=${() => this.signIn(c.key)}>
                ${t('signin.as', { name: c.name })}
              </button>`,
            )}`
        : ''}
    </section>`;
  }
}
customElements.define('bp-signin', BpSignin);
