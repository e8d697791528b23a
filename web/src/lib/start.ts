// The first questions a customer app asks, sent as soon as its first script runs: who is signed
// in, which app they belong on and, when this browser had a customer signed in last time, the
// home's bills and billers. This module is its own small script in the customer apps' pages
// (see vite.config.ts), so these requests leave while the components' script is still loading;
// the app takes the answers when it starts (see bp-customer-app and bp-bills).

import { BILLERS, MY_BILLS, prefetch } from './api';
import { config } from './config';
import { DATE_STYLE, dateTimeFormat, numberFormat } from './intl';
import { type Session, currentSession, probablySignedIn } from './session';
import { type Variant, assignedVariant } from './variant';

// What the home shows first, asked for early for a returning customer.
if (probablySignedIn()) for (const path of [MY_BILLS, BILLERS]) prefetch(path);

let start: Promise<[Session | null, Variant | null]> | null = Promise.all([
  currentSession().catch(() => null),
  assignedVariant(),
]);

// A page's first Intl formatter is slow to make (it loads the locale's number data: over 10 ms on
// a slow device), and the home formats every bill's amount and due date as soon as the bills
// arrive. So the data is loaded now, while the requests above are on the network: they wait on
// the same config.json and were queued first, so they leave before this runs.
void config()
  .then(() => {
    const lang = document.documentElement.lang || 'es-CO';
    numberFormat(lang).format(0);
    dateTimeFormat(lang, DATE_STYLE).format(0);
  })
  .catch(() => undefined);

/** The answers asked at start-up, the first time; later, asked again. */
export function whoAndWhere(): Promise<[Session | null, Variant | null]> {
  const answers = start ?? Promise.all([currentSession().catch(() => null), assignedVariant()]);
  start = null;
  return answers;
}
