import { html } from 'lit';
import { LOCALES, type Locale, locale, setLocale, t } from '../lib/i18n';
import { BpElement, shared } from './base';
import { css } from 'lit';

/** The top bar: product name, who is signed in, language, sign-out. */
export class BpHeader extends BpElement {
  static properties = { who: { type: String }, subtitle: { type: String } };
  who = '';
  subtitle = '';

  static styles = [
    shared,
    css`
      header {
        display: flex;
        align-items: center;
        gap: 1rem;
        flex-wrap: wrap;
        padding: 0.75rem 1.25rem;
        background: #0a3d73;
        color: #fff;
      }
      .brand {
        font-size: 1.3rem;
        font-weight: 700;
        margin: 0;
      }
      .spacer {
        flex: 1;
      }
      label {
        display: inline;
        margin: 0 0.4rem 0 0;
        color: #fff;
      }
      select {
        width: auto;
      }
      button {
        margin: 0;
        background: #fff;
        color: #0a3d73;
      }
    `,
  ];

  render() {
    return html`<header>
      <p class="brand">${t('app.name')}${this.subtitle ? html` · ${this.subtitle}` : ''}</p>
      <span class="spacer"></span>
      ${this.who ? html`<span data-testid="who">${this.who}</span>` : ''}
      <span>
        <label for="lang">${t('lang.label')}</label>
        <select id="lang" @change=${(e: Event) => setLocale((e.target as HTMLSelectElement).value as Locale)}>
          ${LOCALES.map((l) => html`<option value=${l} ?selected=${l === locale()}>${l === 'en' ? 'English' : 'Español (Colombia)'}</option>`)}
        </select>
      </span>
      ${this.who
        ? html`<button type="button" @click=${() => this.dispatchEvent(new CustomEvent('signout', { bubbles: true, composed: true }))}>
            ${t('signout')}
          </button>`
        : ''}
    </header>`;
  }
}
customElements.define('bp-header', BpHeader);
