import { html } from 'lit';
import { ApiError, request } from '../lib/api';
import { config, type DemoCustomer } from '../lib/config';
import { locale, t } from '../lib/i18n';
import { passkeysSupported, signInWithPasskey } from '../lib/passkey';
import { type Session, currentSession } from '../lib/session';
import { BpElement, shared } from './base';

/**
 * Customer sign-in: with a passkey, or (the fallback, and how an account starts) an e-mail
 * address, then the six-digit code BillPay e-mails to it. The session
 * that results is an HttpOnly cookie; this element never sees it. The demo (`serve --demo`)
 * offers its customers with one click. Emits `signed-in` with who signed in.
 */
export class BpSignin extends BpElement {
  static properties = {
    demo: { state: true },
    error: { state: true },
    busy: { state: true },
    email: { state: true },
    codeSent: { state: true },
  };
  demo: DemoCustomer[] = [];
  error = '';
  busy = false;
  email = '';
  codeSent = false;
  static styles = shared;

  async connectedCallback() {
    super.connectedCallback();
    this.demo = (await config()).demo?.customers ?? [];
  }

  private async step(action: () => Promise<void>) {
    this.busy = true;
    this.error = '';
    try {
      await action();
    } catch (e) {
      if (!(e instanceof ApiError) || e.status === 0) this.error = t('error.network');
      else if (e.status === 429) this.error = t('signin.limited');
      else if (e.code === 'invalid_request' && !this.codeSent) this.error = t('signin.badEmail');
      else this.error = t('signin.bad');
    } finally {
      this.busy = false;
    }
  }

  private async done() {
    const session: Session | null = await currentSession();
    if (!session) throw new ApiError(401, 'session_expired', '');
    this.dispatchEvent(new CustomEvent('signed-in', { detail: session, bubbles: true, composed: true }));
  }

  private sendCode(email: string) {
    return this.step(async () => {
      await request('/v1/auth/email-codes', { body: { email, locale: locale() } });
      this.email = email;
      this.codeSent = true;
    });
  }

  private signIn(code: string) {
    return this.step(async () => {
      await request('/v1/auth/sessions', { body: { email: this.email, code } });
      await this.done();
    });
  }

  private async passkeySignIn() {
    this.busy = true;
    this.error = '';
    try {
      await signInWithPasskey();
      await this.done();
    } catch (e) {
      this.error = e instanceof ApiError && e.status === 429 ? t('signin.limited') : t('signin.passkeyFailed');
    } finally {
      this.busy = false;
    }
  }

  private demoSignIn(customerId: string) {
    return this.step(async () => {
      await request('/v1/auth/demo-sessions', { body: { customer_id: customerId } });
      await this.done();
    });
  }

  private field(id: string): string {
    return this.renderRoot.querySelector<HTMLInputElement>(`#${id}`)?.value.trim() ?? '';
  }

  render() {
    const form = this.codeSent
      ? html`<form
          @submit=${(e: Event) => {
            e.preventDefault();
            const code = this.field('code');
            if (code) void this.signIn(code);
          }}
        >
          <p role="status">${t('signin.sent', { email: this.email })}</p>
          <label for="code">${t('signin.code')}</label>
          <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required />
          <button type="submit" ?disabled=${this.busy}>${t('signin.submit')}</button>
          <button
            type="button"
            class="secondary"
            @click=${() => {
              this.codeSent = false;
              this.error = '';
            }}
          >
            ${t('signin.other')}
          </button>
        </form>`
      : html`<form
          @submit=${(e: Event) => {
            e.preventDefault();
            const email = this.field('email');
            if (email) void this.sendCode(email);
          }}
        >
          <label for="email">${t('signin.email')}</label>
          <input id="email" name="email" type="email" autocomplete="email" required .value=${this.email} />
          <button type="submit" ?disabled=${this.busy}>${t('signin.send')}</button>
        </form>`;
    return html`<section class="card" aria-labelledby="signin-title">
      <h2 id="signin-title">${t('signin.title')}</h2>
      ${passkeysSupported() && !this.codeSent
        ? html`<button type="button" id="passkey-signin" data-testid="passkey-signin" ?disabled=${this.busy} @click=${() => void this.passkeySignIn()}>
              ${t('signin.passkey')}
            </button>
            <p>${t('signin.or')}</p>`
        : ''}
      ${form} ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      ${this.demo.length
        ? html`<h3>${t('signin.demo')}</h3>
            ${this.demo.map(
              (c) => html`<button type="button" class="secondary" data-customer=${c.id} @click=${() => this.demoSignIn(c.id)}>
                ${t('signin.as', { name: c.name })}
              </button>`,
            )}`
        : ''}
    </section>`;
  }
}
customElements.define('bp-signin', BpSignin);
