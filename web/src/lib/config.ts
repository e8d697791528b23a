// The deployment's settings, read once from the app's own `config.json`, beside its page: rendered
// from platform.toml and uploaded with the app by `billpayctl deploy frontend`, or answered by
// `billpay serve` for each app it serves locally.

export interface DemoCustomer {
  id: string;
  name: string;
}

export interface Config {
  apiBase: string;
  flagSet: string;
  flagsKey: string | null;
  /** This app, as named in platform.toml. */
  appId?: string;
  /** Where each customer app of the A/B test lives (`frontend-variant`'s variants). */
  variants?: Partial<Record<'a' | 'b', string>>;
  /** Whether staff can sign in through single sign-on. */
  sso?: boolean;
  /** `serve --demo` only: one-click sign-in as a demo customer, the demo admin or the demo biller staff. */
  demo?: { adminEmail: string; billerStaffEmail?: string; customers: DemoCustomer[] };
}

let loaded: Promise<Config> | null = null;

export function config(): Promise<Config> {
  // The pages preload it (<link rel=preload>); the server marks it no-cache, so it is revalidated.
  loaded ??= fetch('config.json').then((r) => {
    if (!r.ok) throw new Error(`config.json: HTTP ${r.status}`);
    return r.json() as Promise<Config>;
  });
  return loaded;
}
