import { css, html } from 'lit';
import { type Biller, request } from '../../src/lib/api';
import { config } from '../../src/lib/config';
import { type Staff, currentStaff, demoStaffSignIn, endSession, startStaffSignIn } from '../../src/lib/session';
import { BpElement, errorText, shared } from '../../src/components/base';
import '../../src/components/bp-header';
import { type PortalKey, p } from './messages';
import './overview';
import './bills';
import './payments';
import './settlement';
import './webhooks';
import './complaints';

const TABS = ['overview', 'bills', 'payments', 'settlement', 'webhooks', 'complaints'] as const;
type Tab = (typeof TABS)[number];

/**
 * The biller portal: a biller's staff member signs in through single sign-on and works with that
 * biller's bills, payments, settlement, webhooks and complaints. Everything shown comes from the
 * API as that person, which scopes every answer to their biller; the page holds no key and never
 * names another biller.
 */
export class BpBillerPortal extends BpElement {
  static properties = {
    staff: { state: true },
    biller: { state: true },
    tab: { state: true },
    error: { state: true },
    ready: { state: true },
  };
  staff: Staff | null = null;
  biller: Biller | null = null;
  tab: Tab = 'overview';
  error = '';
  ready = false;
  sso = false;
  demoStaff = '';

  static styles = [
    shared,
    css`
      main {
        max-width: 72rem;
        margin: 0 auto;
        padding: 1rem 1.25rem 3rem;
      }
      nav ul {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem;
        list-style: none;
        padding: 0;
        margin: 0 0 1rem;
      }
      nav button {
        margin: 0;
      }
      nav button[aria-current='page'] {
        background: #0a3d73;
        border-color: #0a3d73;
      }
    `,
  ];

  async connectedCallback() {
    super.connectedCallback();
    document.title = `BillPay · ${p('portal.title')}`;
    try {
      const cfg = await config();
      this.sso = cfg.sso ?? false;
      this.demoStaff = cfg.demo?.billerStaffEmail ?? '';
    } catch (e) {
      this.error = errorText(e);
    }
    await this.resume();
  }

  /** Picks up the staff session the cookie carries, if any, and that person's biller. */
  private async resume() {
    try {
      this.staff = await currentStaff();
      if (this.staff?.role === 'biller' && this.staff.biller_id) {
        this.biller = await request<Biller>(`/v1/billers/${this.staff.biller_id}`);
      } else if (this.staff) {
        this.error = p('portal.not_biller');
      }
    } catch (e) {
      this.error = errorText(e);
    }
    this.ready = true;
  }

  private async demoSignIn() {
    this.error = '';
    try {
      await demoStaffSignIn(this.demoStaff);
      await this.resume();
    } catch (e) {
      this.error = errorText(e);
    }
  }

  private signOut() {
    void endSession();
    this.staff = null;
    this.biller = null;
    this.error = '';
  }

  private signIn() {
    return html`<section class="card" aria-labelledby="signin-title">
      <h1 id="signin-title">${p('portal.signin')}</h1>
      <p class="muted">${p('portal.signin_help')}</p>
      ${this.sso
        ? html`<button type="button" data-testid="sso" @click=${() => void startStaffSignIn()}>${p('portal.sso')}</button>`
        : html`<p class="muted">${p('portal.no_sso')}</p>`}
      ${this.demoStaff
        ? html`<button type="button" class="secondary" data-testid="demo-staff" @click=${() => this.demoSignIn()}>${p('portal.demo')}</button>`
        : ''}
    </section>`;
  }

  private screen(b: Biller) {
    const [id, cur] = [b.id, b.currency];
    switch (this.tab) {
      case 'overview':
        return html`<bp-portal-overview .billerId=${id} .currency=${cur}></bp-portal-overview>`;
      case 'bills':
        return html`<bp-portal-bills .billerId=${id} .currency=${cur}></bp-portal-bills>`;
      case 'payments':
        return html`<bp-portal-payments .billerId=${id} .currency=${cur}></bp-portal-payments>`;
      case 'settlement':
        return html`<bp-portal-settlement .billerId=${id} .currency=${cur}></bp-portal-settlement>`;
      case 'webhooks':
        return html`<bp-portal-webhooks .billerId=${id} .currency=${cur}></bp-portal-webhooks>`;
      case 'complaints':
        return html`<bp-portal-complaints .billerId=${id} .currency=${cur}></bp-portal-complaints>`;
    }
  }

  render() {
    const who = this.staff ? `${this.staff.name}${this.biller ? ` · ${this.biller.name}` : ''}` : '';
    return html`<bp-header .who=${who} .subtitle=${p('portal.title')} @signout=${() => this.signOut()}></bp-header>
      <main>
        ${this.error ? html`<p role="alert" class="error" data-testid="error">${this.error}</p>` : ''}
        ${!this.ready
          ? html`<p class="muted">${p('loading')}</p>`
          : !this.staff
            ? this.signIn()
            : this.biller
              ? html`<h1>${this.biller.name}</h1>
                  <nav aria-label=${p('nav.label')}>
                    <ul>
                      ${TABS.map(
                        (t) => html`<li>
                          <button
                            type="button"
                            class=${this.tab === t ? '' : 'secondary'}
                            aria-current=${this.tab === t ? 'page' : 'false'}
                            @click=${() => (this.tab = t)}
                          >
                            ${p(`tab.${t}` as PortalKey)}
                          </button>
                        </li>`,
                      )}
                    </ul>
                  </nav>
                  ${this.screen(this.biller)}`
              : ''}
      </main>`;
  }
}
customElements.define('bp-biller-portal', BpBillerPortal);
