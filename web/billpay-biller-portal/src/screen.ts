import { css, html } from 'lit';
import { type List, request } from '../../src/lib/api';
import { locale } from '../../src/lib/i18n';
import { formatMoney } from '../../src/lib/money';
import { BpActions, errorText, shared } from '../../src/components/base';

/** Every page of a list the API gives, following its cursor, up to `max` items. */
export async function all<T>(path: string, max = 500): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page: List<T> = await request<List<T>>(`${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...page.data);
    cursor = page.has_more ? page.next_cursor : null;
  } while (cursor && out.length < max);
  return out;
}

/**
 * A list shown 50 at a time: the first page of `path`, or, with `more`, the rows shown so far and
 * the next page after `cursor`. Gives the rows and the cursor of the page after, if any.
 */
export async function paged<T>(path: string, shown: T[], cursor: string | null, more: boolean): Promise<[T[], string | null]> {
  const sep = path.includes('?') ? '&' : '?';
  const after = more && cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
  const page = await request<List<T>>(`${path}${sep}limit=50${after}`);
  return [more ? [...shown, ...page.data] : page.data, page.has_more ? page.next_cursor : null];
}

/** An amount for people, in the current language. */
export function money(minor: number, currency: string): string {
  return formatMoney(minor, currency, locale());
}

/** The text of a file a person picked, or '' when none. */
export async function fileText(input: HTMLInputElement | null): Promise<string> {
  const file = input?.files?.[0];
  return file ? file.text() : '';
}

/**
 * One screen of the portal, for one biller. Each action runs through `act` (BpActions): its
 * outcome, or the API's own words for what went wrong, is announced in the status line, and the
 * screen reads again what it shows.
 */
export abstract class Screen extends BpActions {
  static properties = { ...BpActions.properties, billerId: { type: String }, currency: { type: String } };
  billerId = '';
  currency = 'COP';

  static styles = [
    shared,
    css`
      td button,
      li button {
        margin: 0;
        padding: 0.3rem 0.7rem;
      }
      .deadline-late {
        color: #a4161a;
        font-weight: 600;
      }
      form.inline {
        display: flex;
        gap: 0.5rem;
        align-items: end;
        flex-wrap: wrap;
      }
      form.inline > * {
        flex: 1 1 9rem;
      }
      pre {
        white-space: pre-wrap;
        word-break: break-all;
        background: #f1f3f6;
        padding: 0.5rem;
        border-radius: 6px;
      }
    `,
  ];

  /** Reads what the screen shows. */
  protected abstract load(): Promise<void>;

  connectedCallback(): void {
    super.connectedCallback();
    void this.refresh();
  }

  async refresh() {
    try {
      await this.load();
    } catch (e) {
      this.error = errorText(e);
    }
  }

  /** A read started from a click: its failure is told in the status line. */
  protected read(run: Promise<void>): void {
    run.catch((e) => {
      this.error = errorText(e);
    });
  }

  /** The status line: what the last action did, or why it failed. */
  protected status() {
    return html`<p role="status" data-testid="message" class=${this.error ? 'error' : 'ok'}>${this.error || this.message}</p>`;
  }
}
