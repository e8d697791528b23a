import { html, css } from 'lit';
import type { Bill } from '../lib/api';
import { config } from '../lib/config';
import { t } from '../lib/i18n';
import { FlagClient, flagValue } from '../lib/ofrep';
import { type Session, currentSession, endSession } from '../lib/session';
import { BpElement, shared } from './base';
import './bp-header';
import './bp-signin';
import './bp-wallet';
import './bp-pay';
import './bp-history';
import './bp-sessions';
import './bp-bills';
import './bp-plans';
import type { BpPlans } from './bp-plans';
import type { BpBills } from './bp-bills';
import type { BpPay } from './bp-pay';
import type { BpHistory } from './bp-history';
import type { BpWallet } from './bp-wallet';

/**
 * A customer app: wallet, bill payment and history. Apps A and B are this element with a
 * different `variant`: A (`review`) confirms on a review step, B (`one-step`) pays from the form.
 */
export class BpCustomerApp extends BpElement {
  static properties = {
    variant: { type: String },
    session: { state: true },
    checked: { state: true },
    topups: { state: true },
    categories: { state: true },
  };
  variant: 'a' | 'b' = 'a';
  session: Session | null = null;
  /** Whether the server has said who the cookie belongs to yet. */
  checked = false;
  topups = true;
  categories = true;
  static styles = [
    shared,
    css`
      main {
        max-width: 60rem;
        margin: 1rem auto;
        padding: 0 1rem;
        display: grid;
        grid-template-columns: minmax(0, 2fr) minmax(0, 3fr);
        gap: 1rem;
      }
      .wide {
        grid-column: 1 / -1;
        overflow-x: auto;
      }
      @media (max-width: 48rem) {
        main {
          grid-template-columns: 1fr;
        }
      }
    `,
  ];

  connectedCallback() {
    super.connectedCallback();
    document.documentElement.lang = document.documentElement.lang || 'es-CO';
    void this.loadSession();
  }

  private async loadSession() {
    try {
      this.session = await currentSession();
    } catch {
      this.session = null;
    }
    this.checked = true;
    await this.loadFlags();
  }

  private async loadFlags() {
    if (!this.session) return;
    const cfg = await config();
    if (!cfg.flagsKey) return;
    try {
      const flags = await new FlagClient(cfg.apiBase, cfg.flagsKey).evaluateAll({ targetingKey: this.session.customerId });
      this.topups = flagValue(flags, 'wallet-topups', true);
      this.categories = flagValue(flags, 'biller-categories', true);
    } catch {
      /* flags unavailable: keep the code defaults */
    }
  }

  private signedIn(e: CustomEvent<Session>) {
    this.session = e.detail;
    // The entry page decides the variant for a customer who just signed in.
    location.assign('/');
  }

  private async signOut() {
    await endSession();
    this.session = null;
    location.assign('/');
  }

  render() {
    const s = this.session;
    return html`<bp-header .who=${s?.name ?? ''} .subtitle=${this.variant.toUpperCase()} @signout=${this.signOut}></bp-header>
      ${s
        ? html`<main data-variant=${this.variant}>
            <bp-bills
              class="wide"
              @pay-bill=${(e: CustomEvent<Bill>) => this.renderRoot.querySelector<BpPay>('bp-pay')?.payBill(e.detail)}
            ></bp-bills>
            <bp-wallet .customerId=${s.customerId} .topups=${this.topups}></bp-wallet>
            <bp-pay
              .mode=${this.variant === 'a' ? 'review' : 'one-step'}
              .categories=${this.categories}
              @paid=${() => {
                void this.renderRoot.querySelector<BpWallet>('bp-wallet')?.refresh();
                void this.renderRoot.querySelector<BpHistory>('bp-history')?.refresh();
                void this.renderRoot.querySelector<BpBills>('bp-bills')?.refresh();
                void this.renderRoot.querySelector<BpPlans>('bp-plans')?.refresh();
              }}
            ></bp-pay>
            <bp-plans class="wide"></bp-plans>
            <bp-history class="wide"></bp-history>
            <bp-sessions class="wide" @signed-out=${() => location.assign('/')}></bp-sessions>
          </main>`
        : this.checked
          ? html`<main><p class="muted">${t('app.tagline')}</p><bp-signin @signed-in=${this.signedIn}></bp-signin></main>`
          : html`<main><p role="status">${t('entry.choosing')}</p></main>`}`;
  }
}
customElements.define('bp-customer-app', BpCustomerApp);
