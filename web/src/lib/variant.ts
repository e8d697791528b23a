// Which customer app a signed-in customer belongs on. Either app may be opened first (each has
// its own URL); both ask the server, which evaluates `frontend-variant` for the customer and
// records the first variant they are shown (the exposure), so later visits keep it. The page
// never names a variant itself. With the kill switch on, the server answers no variant and
// everyone uses A, the code default.

import { request } from './api';
import { config } from './config';

export const EXPERIMENT = 'frontend-variant';

export type Variant = 'a' | 'b';

/** The variant the server assigns the signed-in customer; null when it cannot be asked. */
export async function assignedVariant(): Promise<Variant | null> {
  const cfg = await config();
  try {
    const exposure = await request<{ variant: string | null }>(`/v1/flag-sets/${cfg.flagSet}/exposures`, {
      body: { flag: EXPERIMENT },
    });
    return exposure.variant === 'b' ? 'b' : 'a';
  } catch {
    return null;
  }
}

/**
 * The URL of the app for `variant` when it is not the app at `here`, else null: the app to send
 * the customer to. URLs in config.json may be absolute (each app on its own domain) or paths
 * (all apps on one site).
 */
export function elsewhere(variants: Partial<Record<Variant, string>> | undefined, variant: Variant, here: string): string | null {
  const target = variants?.[variant];
  if (!target) return null;
  const url = new URL(target, here);
  const current = new URL(here);
  const same = url.origin === current.origin && current.pathname.startsWith(url.pathname);
  return same ? null : url.href;
}
