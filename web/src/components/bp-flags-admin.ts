import { html, css } from 'lit';
import { ApiError, request } from '../lib/api';
import { config } from '../lib/config';
import { formatDate, formatNumber, locale, t } from '../lib/i18n';
import { formatMoney } from '../lib/money';
import { type Staff, currentStaff, demoStaffSignIn, endSession, startStaffSignIn } from '../lib/session';
import { BpElement, shared } from './base';
import './bp-header';
import './bp-bar-chart';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface FlagDef {
  state: 'ENABLED' | 'DISABLED';
  variants: Record<string, Json>;
  defaultVariant?: string | null;
  targeting?: Json;
  metadata?: Record<string, string | number | boolean>;
}

interface FlagSet {
  id: string;
  version: number;
  definition: { flags: Record<string, FlagDef>; [k: string]: Json | Record<string, FlagDef> };
}

interface Version {
  version: number;
  summary: string;
  author: string;
  diff: { op: string; path: string; value?: Json; from?: string }[];
  created_at: string;
}

interface Dashboard {
  since: string;
  days: { date: string; payments: number; declined: number; volume: { currency: string; amount: number }[] }[];
  payments: number;
  declined: number;
  top_billers: { biller_id: string; name: string; currency: string; payments: number; amount: number }[];
  experiment: { variant: string; exposed: number; converted: number }[];
}

interface Problem {
  location: string;
  detail: string;
}

export const EXPERIMENT = 'frontend-variant';

/** The share of customers a `fractional` targeting rule sends to `b`, or null when it is not a plain A/B split. */
export function rolloutOf(flag: FlagDef | undefined): number | null {
  const split = (flag?.targeting as { fractional?: Json[] } | undefined)?.fractional;
  if (!Array.isArray(split)) return null;
  const weights = new Map<string, number>();
  for (const bucket of split) {
    if (!Array.isArray(bucket) || typeof bucket[0] !== 'string') return null;
    weights.set(bucket[0], typeof bucket[1] === 'number' ? bucket[1] : 1);
  }
  const total = [...weights.values()].reduce((a, b) => a + b, 0);
  return total > 0 ? Math.round(((weights.get('b') ?? 0) * 100) / total) : null;
}

/** The targeting rule for sending `percentB` percent of customers to B. */
export function rolloutRule(percentB: number): Json {
  return { fractional: [['a', 100 - percentB], ['b', percentB]] };
}

/**
 * The flags admin: flags with their kill switches, an editor with live validation, the A/B
 * rollout control, the history with diffs and rollback, and the business dashboard.
 */
export class BpFlagsAdmin extends BpElement {
  static properties = {
    staff: { state: true },
    demoAdmin: { state: true },
    sso: { state: true },
    tab: { state: true },
    set: { state: true },
    editing: { state: true },
    problems: { state: true },
    valid: { state: true },
    message: { state: true },
    error: { state: true },
    versions: { state: true },
    dashboard: { state: true },
    rollout: { state: true },
  };
  staff: Staff | null = null;
  demoAdmin = '';
  sso = false;
  tab: 'flags' | 'history' | 'dashboard' = 'flags';
  set: FlagSet | null = null;
  editing: string | null = null;
  problems: Problem[] = [];
  valid = false;
  message = '';
  error = '';
  versions: Version[] = [];
  dashboard: Dashboard | null = null;
  rollout = 50;
  private setId = 'billpay-web';
  private validateTimer: ReturnType<typeof setTimeout> | undefined;

  static styles = [
    shared,
    css`
      main {
        max-width: 64rem;
        margin: 1rem auto;
        padding: 0 1rem;
      }
      [role='tablist'] button[aria-selected='true'] {
        background: #0a3d73;
      }
      [role='tablist'] button[aria-selected='false'] {
        background: #fff;
        color: #0a3d73;
      }
      .switch {
        width: auto;
        transform: scale(1.3);
      }
      .diff {
        font-family: ui-monospace, Menlo, monospace;
        font-size: 0.85rem;
        white-space: pre-wrap;
        margin: 0.25rem 0 0;
      }
      .kpi {
        font-size: 2rem;
        font-weight: 700;
      }
      input[type='range'] {
        padding: 0;
      }
    `,
  ];

  async connectedCallback() {
    super.connectedCallback();
    const cfg = await config();
    this.demoAdmin = cfg.demo?.adminEmail ?? '';
    this.sso = cfg.sso ?? false;
    this.setId = cfg.flagSet;
    await this.resume();
  }

  /** Picks up the staff session the cookie carries, if any. */
  private async resume() {
    try {
      this.staff = await currentStaff();
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
    if (this.staff && this.staff.role !== 'admin') {
      this.error = t('flags.not_admin');
      return;
    }
    if (this.staff) void this.load();
  }

  private async call<T>(path: string, opts: Parameters<typeof request>[1] = {}): Promise<T> {
    return request<T>(path, opts);
  }

  private async load() {
    try {
      this.set = await this.call<FlagSet>(`/v1/flag-sets/${this.setId}`);
      this.rollout = rolloutOf(this.set.definition.flags[EXPERIMENT]) ?? 50;
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
        this.signOut();
        this.error = t('signin.bad');
      } else {
        this.error = e instanceof Error ? e.message : String(e);
      }
    }
  }

  private async demoSignIn() {
    this.error = '';
    try {
      await demoStaffSignIn(this.demoAdmin);
      await this.resume();
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
  }

  private signOut() {
    void endSession();
    this.staff = null;
    this.set = null;
  }

  private async show(tab: 'flags' | 'history' | 'dashboard') {
    this.tab = tab;
    this.message = '';
    if (tab === 'history') {
      this.versions = (await this.call<{ data: Version[] }>(`/v1/flag-sets/${this.setId}/versions?limit=50`)).data;
    } else if (tab === 'dashboard') {
      this.dashboard = await this.call<Dashboard>(`/v1/dashboard?days=14&flag_set=${this.setId}`);
    }
  }

  /** Runs a change that returns the new flag set; shows the 422 problems when it is refused. */
  private async change(what: () => Promise<FlagSet>) {
    this.message = '';
    this.error = '';
    try {
      this.set = await what();
      this.rollout = rolloutOf(this.set.definition.flags[EXPERIMENT]) ?? this.rollout;
      this.message = t('flags.saved', { version: this.set.version });
      return true;
    } catch (e) {
      if (e instanceof ApiError) {
        this.error = e.detail;
        this.problems = e.errors;
      } else {
        this.error = t('error.network');
      }
      return false;
    }
  }

  private toggle(flagKey: string, on: boolean) {
    void this.change(() =>
      this.call<FlagSet>(`/v1/flag-sets/${this.setId}/flags/${flagKey}/state`, {
        body: { state: on ? 'ENABLED' : 'DISABLED' },
        ifMatch: this.set?.version,
      }),
    );
  }

  private applyRollout() {
    const flag = this.set?.definition.flags[EXPERIMENT];
    if (!flag) return;
    void this.change(() =>
      this.call<FlagSet>(`/v1/flag-sets/${this.setId}/flags/${EXPERIMENT}`, {
        method: 'PUT',
        body: { ...flag, targeting: rolloutRule(this.rollout) },
        ifMatch: this.set?.version,
      }),
    );
  }

  /** The flag as the editor's fields describe it, or a problem when a field is not JSON. */
  private edited(): { flag?: FlagDef; problem?: Problem } {
    const root = this.renderRoot;
    const original = this.editing ? this.set?.definition.flags[this.editing] : undefined;
    const read = (id: string) => (root.querySelector(`#${id}`) as HTMLTextAreaElement | HTMLSelectElement | null)?.value ?? '';
    let variants: Record<string, Json>;
    let targeting: Json | undefined;
    try {
      variants = JSON.parse(read('variants'));
    } catch (e) {
      return { problem: { location: `/flags/${this.editing}/variants`, detail: String(e) } };
    }
    const targetingText = read('targeting').trim();
    try {
      targeting = targetingText ? JSON.parse(targetingText) : undefined;
    } catch (e) {
      return { problem: { location: `/flags/${this.editing}/targeting`, detail: String(e) } };
    }
    const flag: FlagDef = { ...(original ?? { state: 'ENABLED' }), variants, defaultVariant: read('default') || null };
    if (targeting === undefined) delete flag.targeting;
    else flag.targeting = targeting;
    return { flag };
  }

  private liveValidate() {
    clearTimeout(this.validateTimer);
    this.validateTimer = setTimeout(async () => {
      const { flag, problem } = this.edited();
      this.valid = false;
      if (problem || !flag || !this.set || !this.editing) {
        this.problems = problem ? [problem] : [];
        return;
      }
      const definition = { ...this.set.definition, flags: { ...this.set.definition.flags, [this.editing]: flag } };
      try {
        await this.call(`/v1/flag-sets/${this.setId}/validate`, { body: { definition } });
        this.problems = [];
        this.valid = true;
      } catch (e) {
        this.problems = e instanceof ApiError ? e.errors : [];
      }
    }, 250);
  }

  private async save() {
    const { flag, problem } = this.edited();
    if (problem || !flag || !this.editing) {
      this.problems = problem ? [problem] : [];
      this.error = t('flags.invalid');
      return;
    }
    const ok = await this.change(() =>
      this.call<FlagSet>(`/v1/flag-sets/${this.setId}/flags/${this.editing}`, {
        method: 'PUT',
        body: flag,
        ifMatch: this.set?.version,
      }),
    );
    if (ok) {
      this.editing = null;
      this.problems = [];
    }
  }

  private rollback(version: number) {
    void this.change(() =>
      this.call<FlagSet>(`/v1/flag-sets/${this.setId}/rollback`, { body: { version }, ifMatch: this.set?.version }),
    ).then(() => this.show('history'));
  }

  private renderSignin() {
    return html`<section class="card" aria-labelledby="admin-signin">
      <h2 id="admin-signin">${t('flags.title')}</h2>
      <p>${t('flags.signin_help')}</p>
      ${this.sso
        ? html`<button type="button" data-testid="sso" @click=${() => void startStaffSignIn()}>${t('flags.sso')}</button>`
        : html`<p>${t('flags.no_sso')}</p>`}
      ${this.demoAdmin
        ? html`<button type="button" class="secondary" @click=${() => void this.demoSignIn()}>${t('flags.demo_admin')}</button>`
        : ''}
      ${this.error ? html`<p role="alert" class="error">${this.error}</p>` : ''}
    </section>`;
  }

  private renderEditor(flagKey: string, flag: FlagDef) {
    const variants = Object.keys(flag.variants);
    return html`<section class="card" aria-labelledby="editor-title" data-testid="editor">
      <h2 id="editor-title">${t('flags.edit')}: ${flagKey}</h2>
      <label for="variants">${t('flags.variants')}</label>
      <textarea id="variants" rows="4" @input=${() => this.liveValidate()}>${JSON.stringify(flag.variants, null, 2)}</textarea>
      <label for="default">${t('flags.default')}</label>
      <select id="default" @change=${() => this.liveValidate()}>
        <option value="" ?selected=${!flag.defaultVariant}>—</option>
        ${variants.map((v) => html`<option ?selected=${v === flag.defaultVariant}>${v}</option>`)}
      </select>
      <label for="targeting">${t('flags.targeting')}</label>
      <textarea id="targeting" rows="6" @input=${() => this.liveValidate()}>${flag.targeting ? JSON.stringify(flag.targeting, null, 2) : ''}</textarea>
      <div aria-live="polite" data-testid="validation">
        ${this.problems.length
          ? html`<p class="error">${t('flags.invalid')}</p>
              <ul class="error">
                ${this.problems.map((p) => html`<li><code>${p.location}</code>: ${p.detail}</li>`)}
              </ul>`
          : this.valid
            ? html`<p class="ok">${t('flags.valid')}</p>`
            : ''}
      </div>
      ${this.error ? html`<p role="alert" class="error" data-testid="save-error">${this.error}</p>` : ''}
      <button type="button" data-testid="save" @click=${() => this.save()}>${t('flags.save')}</button>
      <button type="button" class="secondary" @click=${() => ((this.editing = null), (this.problems = []), (this.error = ''))}>
        ${t('flags.cancel')}
      </button>
    </section>`;
  }

  private renderFlags(set: FlagSet) {
    const flags = Object.entries(set.definition.flags);
    const experiment = set.definition.flags[EXPERIMENT];
    return html`${experiment && rolloutOf(experiment) !== null
        ? html`<section class="card" aria-labelledby="rollout-title">
            <h2 id="rollout-title">A/B: ${EXPERIMENT}</h2>
            <label for="rollout">${t('flags.rollout')}: <output for="rollout" data-testid="rollout-value">${this.rollout}%</output></label>
            <input id="rollout" type="range" min="0" max="100" step="5" .value=${String(this.rollout)}
              @input=${(e: Event) => (this.rollout = Number((e.target as HTMLInputElement).value))} />
            <button type="button" data-testid="apply-rollout" @click=${() => this.applyRollout()}>${t('flags.rollout.save')}</button>
          </section>`
        : ''}
      ${this.editing && set.definition.flags[this.editing] ? this.renderEditor(this.editing, set.definition.flags[this.editing]) : ''}
      <section class="card">
        <table data-testid="flags">
          <thead>
            <tr>
              <th scope="col">${t('flags.key')}</th>
              <th scope="col">${t('flags.state')}</th>
              <th scope="col">${t('flags.default')}</th>
              <th scope="col">${t('flags.description')}</th>
              <th scope="col"></th>
            </tr>
          </thead>
          <tbody>
            ${flags.map(
              ([k, f]) => html`<tr data-flag=${k}>
                <th scope="row"><code>${k}</code></th>
                <td>
                  <input type="checkbox" role="switch" class="switch" aria-label="${t('flags.state')}: ${k}"
                    .checked=${f.state === 'ENABLED'} @change=${(e: Event) => this.toggle(k, (e.target as HTMLInputElement).checked)} />
                </td>
                <td>${f.defaultVariant ?? '—'}</td>
                <td>${f.metadata?.description ?? ''}</td>
                <td><button type="button" class="secondary" aria-label="${t('flags.edit')} ${k}"
                  @click=${() => ((this.editing = k), (this.problems = []), (this.valid = false))}>${t('flags.edit')}</button></td>
              </tr>`,
            )}
          </tbody>
        </table>
      </section>`;
  }

  private renderHistory() {
    return html`<section class="card" data-testid="history">
      <ol reversed>
        ${this.versions.map(
          (v) => html`<li>
            <strong>${t('flags.version', { version: v.version })}</strong>: ${v.summary}
            <span class="muted">${t('flags.by', { author: v.author })} · ${formatDate(v.created_at)}</span>
            <pre class="diff">${v.diff.map((d) => `${d.op} ${d.path}${d.value === undefined ? '' : ' = ' + JSON.stringify(d.value)}`).join('\n')}</pre>
            ${v.version !== this.set?.version
              ? html`<button type="button" class="secondary" @click=${() => this.rollback(v.version)}>
                  ${t('flags.rollback')} (${v.version})
                </button>`
              : ''}
          </li>`,
        )}
      </ol>
    </section>`;
  }

  private renderDashboard(d: Dashboard) {
    const l = locale();
    const attempts = d.payments + d.declined;
    const rate = attempts ? Math.round((d.payments * 1000) / attempts) / 10 : null;
    const currencies = [...new Set(d.days.flatMap((day) => day.volume.map((v) => v.currency)))];
    return html`<section class="card" data-testid="dashboard">
      <div class="row">
        <div>
          <h2>${t('dash.success')}</h2>
          <p class="kpi" data-testid="success-rate">${rate === null ? '—' : `${formatNumber(rate)} %`}</p>
          <p class="muted">${formatNumber(d.payments)} / ${formatNumber(attempts)}</p>
        </div>
      </div>
      ${d.days.length === 0 ? html`<p class="muted">${t('dash.none')}</p>` : ''}
      <bp-bar-chart .caption=${t('dash.payments')}
        .bars=${d.days.map((day) => ({ label: formatDate(day.date), value: day.payments, text: formatNumber(day.payments) }))}></bp-bar-chart>
      ${currencies.map(
        (c) => html`<bp-bar-chart .caption=${t('dash.volume', { currency: c })}
          .bars=${d.days.map((day) => {
            const amount = day.volume.find((v) => v.currency === c)?.amount ?? 0;
            return { label: formatDate(day.date), value: amount, text: formatMoney(amount, c, l) };
          })}></bp-bar-chart>`,
      )}
      <bp-bar-chart .caption=${t('dash.top')}
        .bars=${d.top_billers.map((b) => ({ label: b.name, value: b.payments, text: `${formatNumber(b.payments)} · ${formatMoney(b.amount, b.currency, l)}` }))}></bp-bar-chart>
      <bp-bar-chart data-testid="ab" .caption=${t('dash.ab')}
        .bars=${d.experiment.map((v) => {
          const pct = v.exposed ? Math.round((v.converted * 1000) / v.exposed) / 10 : 0;
          return {
            label: v.variant.toUpperCase(),
            value: pct,
            text: `${formatNumber(pct)} % (${formatNumber(v.converted)} ${t('dash.converted')} / ${formatNumber(v.exposed)} ${t('dash.exposed')})`,
          };
        })}></bp-bar-chart>
    </section>`;
  }

  render() {
    const tabs = ['flags', 'history', 'dashboard'] as const;
    return html`<bp-header .who=${this.staff?.name ?? ''} .subtitle=${t('flags.title')} @signout=${() => this.signOut()}></bp-header>
      <main>
        ${!this.staff || !this.set
          ? this.renderSignin()
          : html`<div role="tablist" aria-label=${t('flags.title')}>
                ${tabs.map(
                  (tab) => html`<button type="button" role="tab" aria-selected=${this.tab === tab ? 'true' : 'false'}
                    @click=${() => this.show(tab)}>${t(`flags.tab.${tab}`)}</button>`,
                )}
              </div>
              <p role="status" class="ok" data-testid="message">${this.message}</p>
              ${this.error && !this.editing ? html`<p role="alert" class="error">${this.error}</p>` : ''}
              ${this.tab === 'flags' ? this.renderFlags(this.set) : ''}
              ${this.tab === 'history' ? this.renderHistory() : ''}
              ${this.tab === 'dashboard' && this.dashboard ? this.renderDashboard(this.dashboard) : ''}`}
      </main>`;
  }
}
customElements.define('bp-flags-admin', BpFlagsAdmin);
