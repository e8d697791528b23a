// The entry page `/`: signs the customer in, and sends them to app A or B. The server evaluates
// `frontend-variant` for the customer and records the first variant they are shown (the exposure),
// which later visits keep; the page never names a variant itself. When the flag is off (the kill
// switch, read here over OFREP) or cannot be read, everyone goes to A, the code default, and
// nothing is recorded.

import { html, render } from 'lit';
import { request } from './lib/api';
import { config } from './lib/config';
import { t } from './lib/i18n';
import { FlagClient, flagValue } from './lib/ofrep';
import { type Session, currentSession } from './lib/session';
import './components/bp-header';
import './components/bp-signin';

const FLAG = 'frontend-variant';
const root = document.getElementById('app') as HTMLElement;

async function variantFor(session: Session): Promise<'a' | 'b'> {
  const cfg = await config();
  if (!cfg.flagsKey) return 'a';
  let chosen: string;
  try {
    const flags = await new FlagClient(cfg.apiBase, cfg.flagsKey).evaluateAll({ targetingKey: session.customerId });
    chosen = flagValue(flags, FLAG, '');
  } catch {
    return 'a';
  }
  if (chosen !== 'a' && chosen !== 'b') return 'a';
  try {
    const exposure = await request<{ variant: string | null }>(`/v1/flag-sets/${cfg.flagSet}/exposures`, {
      body: { flag: FLAG },
    });
    return exposure.variant === 'b' ? 'b' : 'a';
  } catch {
    return chosen;
  }
}

async function route(session: Session) {
  render(html`<bp-header .who=${session.name}></bp-header><main><p role="status">${t('entry.choosing')}</p></main>`, root);
  const variant = await variantFor(session);
  location.replace(`/${variant}/`);
}

function signIn() {
  render(
    html`<bp-header></bp-header>
      <main style="max-width: 36rem; margin: 1rem auto; padding: 0 1rem">
        <h1>${t('app.name')}</h1>
        <p>${t('app.tagline')}</p>
        <bp-signin
          @signed-in=${(e: CustomEvent<Session>) => {
            void route(e.detail);
          }}
        ></bp-signin>
      </main>`,
    root,
  );
}

document.documentElement.lang = localStorage.getItem('bp.locale') ?? 'es-CO';
let signedIn = false;
window.addEventListener('bp-locale', () => {
  if (!signedIn) signIn();
});
currentSession()
  .catch(() => null)
  .then((session) => {
    signedIn = session !== null;
    if (session) void route(session);
    else signIn();
  });
