import { html, css } from 'lit';
import type { Bill } from '../lib/api';
import { config } from '../lib/config';
import { t } from '../lib/i18n';
import { FlagClient, flagValue } from '../lib/ofrep';
import { type Session, endSession } from '../lib/session';
import { whoAndWhere } from '../lib/start';
import { type Variant, assignedVariant, elsewhere } from '../lib/variant';
import { BpElement, shared } from './base';
import './bp-header';
import './bp-signin';
import './bp-wallet';
import './bp-pay';
import './bp-history';
import './bp-sessions';
import './bp-bills';
import './bp-plans';
import './bp-complaints';
import type { BpComplaints } from './bp-complaints';
import type { BpPlans } from './bp-plans';
import type { BpBills } from './bp-bills';
import type { BpPay } from './bp-pay';
import type { BpHistory } from './bp-history';
import type { BpWallet } from './bp-wallet';

/**
 * A customer app: wallet, bill payment and history. Apps A and B are this element with a
 * different `variant`: A (`review`) confirms on a review step, B (`one-step`) pays from the form.
 * Each is its own site; a signed-in customer who opens the one the A/B test did not assign them
 * is sent to the other (`config.json`'s `variants`) before anything of the account is shown.
 */
export class BpCustomerApp extends BpElement {
  static properties = {
    variant: { type: String },
    session: { state: true },
    checked: { state: true },
    topups: { state: true },
    categories: { state: true },
    more: { state: true },
  };
  variant: 'a' | 'b' = 'a';
  session: Session | null = null;
  /** Whether the server has said who the cookie belongs to, and this is the customer's app. */
  checked = false;
  /** Whether the sections below the bills are shown (once the bills are). */
  more = false;
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
    // Who is signed in and which app they belong on are asked together: a returning customer
    // waits for one round trip, not two. Signed out, the variant's answer is a refusal, unused.
    const [session, variant] = await whoAndWhere();
    if (session && (await this.sentElsewhere(variant))) return;
    this.session = session;
    this.checked = true;
    await this.loadFlags();
  }

  /** Sends the signed-in customer to the app of their variant, if this is not it. */
  private async sentElsewhere(known?: Variant | null): Promise<boolean> {
    const variant = known ?? (await assignedVariant());
    if (!variant) return false;
    const target = elsewhere((await config()).variants, variant, location.href);
    if (!target) return false;
    location.replace(target);
    return true;
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

  private async signedIn(e: CustomEvent<Session>) {
    this.checked = false;
    if (await this.sentElsewhere()) return;
    this.session = e.detail;
    this.checked = true;
    await this.loadFlags();
  }

  /**
   * What is below the bills (plans, history, sessions) loads once the bills are on screen, so
   * the first thing a customer acts on is not slowed by what they scroll to later.
   */
  private showMore = () => {
    if (this.more) return;
    requestAnimationFrame(() => {
      this.more = true;
    });
  };

  private async signOut() {
    await endSession();
    this.session = null;
  }

  render() {
    const s = this.session;
    return html`<bp-header .who=${s?.name ?? ''} .subtitle=${this.variant.toUpperCase()} @signout=${this.signOut}></bp-header>
      ${s
        ? html`<main data-variant=${this.variant}>
            <bp-bills
              class="wide"
              @bills-shown=${this.showMore}
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
                void this.renderRoot.querySelector<BpComplaints>('bp-complaints')?.refresh();
              }}
            ></bp-pay>
            ${this.more
              ? html`<bp-plans class="wide"></bp-plans>
                  <bp-history class="wide"></bp-history>
                  <bp-complaints class="wide"></bp-complaints>
                  <bp-sessions class="wide" @signed-out=${() => {
                      this.session = null;
                    }}></bp-sessions>`
              : ''}
          </main>`
        : this.checked
          ? html`<main><p class="muted">${t('app.tagline')}</p><bp-signin @signed-in=${this.signedIn}></bp-signin></main>`
          : html`<main><p role="status">${t('entry.choosing')}</p></main>`}`;
  }
}
customElements.define('bp-customer-app', BpCustomerApp);
