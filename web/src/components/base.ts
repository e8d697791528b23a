import { LitElement, type PropertyDeclarations, css } from 'lit';
import { ApiError } from '../lib/api';
import { t } from '../lib/i18n';

/** What to tell a person about a failed request: the API's own words, or that the network failed. */
export function errorText(e: unknown): string {
  return e instanceof ApiError && e.status !== 0 ? e.detail : t('error.network');
}

/** Every BillPay element re-renders when the language changes. */
export class BpElement extends LitElement {
  private readonly onLocale = () => this.requestUpdate();
  connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('bp-locale', this.onLocale);
  }
  disconnectedCallback(): void {
    window.removeEventListener('bp-locale', this.onLocale);
    super.disconnectedCallback();
  }
}

/**
 * An element whose actions each say what they did, or the API's words for why they failed, and
 * then read again what it shows. `busy` is true while one runs.
 */
export abstract class BpActions extends BpElement {
  static properties: PropertyDeclarations = { message: { state: true }, error: { state: true }, busy: { state: true } };
  message = '';
  error = '';
  busy = false;

  /** Reads again what the element shows. */
  abstract refresh(): Promise<void>;

  /** Runs `run`, which returns what to tell the person, then refreshes; false when it failed. */
  protected async act(run: () => Promise<string>): Promise<boolean> {
    this.busy = true;
    this.error = '';
    this.message = '';
    try {
      this.message = await run();
      await this.refresh();
      return true;
    } catch (e) {
      this.error = errorText(e);
      return false;
    } finally {
      this.busy = false;
    }
  }
}

/** Shared look. Colours meet WCAG AA contrast (text 4.5:1 or more on their backgrounds). */
export const shared = css`
  :host {
    display: block;
    font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
    color: #1b1b1f;
    line-height: 1.45;
  }
  * {
    box-sizing: border-box;
  }
  h1,
  h2,
  h3 {
    margin: 0 0 0.5rem;
    line-height: 1.2;
  }
  h2 {
    font-size: 1.15rem;
  }
  .card {
    background: #fff;
    border: 1px solid #d0d4dc;
    border-radius: 10px;
    padding: 1rem 1.25rem;
    margin: 0 0 1rem;
  }
  label {
    display: block;
    font-weight: 600;
    margin: 0.5rem 0 0.25rem;
  }
  input,
  select,
  textarea {
    font: inherit;
    width: 100%;
    padding: 0.5rem 0.6rem;
    border: 1px solid #5f6673;
    border-radius: 6px;
    background: #fff;
    color: #1b1b1f;
  }
  textarea {
    font-family: ui-monospace, 'SFMono-Regular', Menlo, monospace;
    font-size: 0.85rem;
  }
  button {
    font: inherit;
    font-weight: 600;
    padding: 0.5rem 1rem;
    border-radius: 6px;
    border: 1px solid #0a4f96;
    background: #0a4f96;
    color: #fff;
    cursor: pointer;
    margin: 0.5rem 0.5rem 0 0;
  }
  button.secondary {
    background: #fff;
    color: #0a4f96;
  }
  button:disabled {
    background: #5f6673;
    border-color: #5f6673;
    color: #fff;
    cursor: not-allowed;
  }
  :focus-visible {
    outline: 3px solid #b35c00;
    outline-offset: 2px;
  }
  .row {
    display: flex;
    gap: 0.75rem;
    flex-wrap: wrap;
    align-items: end;
  }
  .row > * {
    flex: 1 1 10rem;
  }
  .muted {
    color: #4a505c;
  }
  .error {
    color: #a4161a;
    font-weight: 600;
  }
  .ok {
    color: #1b5e20;
    font-weight: 600;
  }
  table {
    width: 100%;
    border-collapse: collapse;
  }
  th,
  td {
    text-align: left;
    padding: 0.4rem 0.5rem;
    border-bottom: 1px solid #e3e6eb;
    vertical-align: top;
  }
  .amount {
    font-variant-numeric: tabular-nums;
    white-space: nowrap;
  }
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;
