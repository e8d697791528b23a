// A real OpenID provider for the sign-in tests: the npm package oidc-provider (OpenID Certified),
// on loopback, with one client (BillPay) and any account its development login page is given.
// The account `lucia` has the verified address lucia@staff.test, and so on.

import Provider from 'oidc-provider';

export const CLIENT_ID = 'billpay-e2e';
export const CLIENT_SECRET = 'e2e-client-secret-not-for-production';

/** `billpay serve`'s flags for signing staff in through `idp`, with the API at `apiOrigin`. */
export function oidcArgs(idp, apiOrigin) {
  return [
    '--oidc-issuer',
    idp.issuer,
    '--oidc-client-id',
    CLIENT_ID,
    '--oidc-client-secret',
    CLIENT_SECRET,
    '--oidc-redirect-url',
    `${apiOrigin}/v1/auth/oidc/callback`,
  ];
}

export async function startIdp(port, redirectUri) {
  const provider = new Provider(`http://localhost:${port}`, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [redirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: `sub-${id}`, email: `${id}@staff.test`, email_verified: true, name: id };
        },
      };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // The ID token carries the scopes' claims (BillPay reads the verified e-mail from it).
    conformIdTokenClaims: false,
    cookies: { keys: ['e2e-idp-cookie-key'] },
    features: { devInteractions: { enabled: true } },
  });
  const server = provider.listen(port, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  return {
    issuer: `http://localhost:${port}`,
    stop: () => new Promise((ok) => server.close(ok)),
  };
}

/**
 * Goes through the provider's own sign-in and consent pages as `login` (its development login
 * takes any password), once a BillPay page has sent the browser there.
 */
export async function signInAtIdp(p, login) {
  await p.waitForURL(/localhost:\d+\/interaction\//);
  await p.locator('input[name=login]').fill(login);
  await p.locator('input[name=password]').fill('any');
  await p.locator('button[type=submit]').click();
  await p.locator('button[type=submit]', { hasText: /continue/i }).click();
}
