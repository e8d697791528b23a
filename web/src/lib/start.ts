// The first two questions a customer app asks, sent as soon as its script runs and before its
// components are defined: who is signed in, and which app they belong on. The app takes the
// answers once, when it starts (see bp-customer-app).

import { type Session, currentSession } from './session';
import { type Variant, assignedVariant } from './variant';

let start: Promise<[Session | null, Variant | null]> | null = Promise.all([
  currentSession().catch(() => null),
  assignedVariant(),
]);

/** The answers asked at start-up, the first time; later, asked again. */
export function whoAndWhere(): Promise<[Session | null, Variant | null]> {
  const answers = start ?? Promise.all([currentSession().catch(() => null), assignedVariant()]);
  start = null;
  return answers;
}
