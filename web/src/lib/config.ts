// The deployment's settings, read once from /config.json (served by `billpay serve`, or uploaded
// next to the apps when they are served from S3/CloudFront).

export interface DemoCustomer {
  id: string;
  name: string;
}

export interface Config {
  apiBase: string;
  flagSet: string;
  flagsKey: string | null;
  /** Whether staff can sign in through single sign-on. */
  sso?: boolean;
  /** `serve --demo` only: one-click sign-in as a demo customer or the demo admin. */
  demo?: { adminEmail: string; customers: DemoCustomer[] };
}

let loaded: Promise<Config> | null = null;

export function config(): Promise<Config> {
  // The pages preload it (<link rel=preload>); the server marks it no-cache, so it is revalidated.
  loaded ??= fetch('/config.json').then((r) => {
    if (!r.ok) throw new Error(`config.json: HTTP ${r.status}`);
    return r.json() as Promise<Config>;
  });
  return loaded;
}
