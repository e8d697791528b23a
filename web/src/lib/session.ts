// Who is signed in. A customer's session lives in an HttpOnly cookie that no script can read:
// this module only asks the server whom the cookie belongs to, and ends it. Nothing secret is
// kept in the page or in storage. The flags admin still signs in with an admin API key, kept for
// the browser tab only, until staff sign in through single sign-on.

import { ApiError, request } from './api';

export interface Session {
  customerId: string;
  name: string;
}

interface Me {
  role: string;
  customer_id: string | null;
  name: string | null;
}

/** The signed-in customer, or null when there is no session (or it ended). */
export async function currentSession(): Promise<Session | null> {
  try {
    const me = await request<Me>('/v1/me', null);
    return me.role === 'customer' && me.customer_id ? { customerId: me.customer_id, name: me.name ?? me.customer_id } : null;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return null;
    throw e;
  }
}

/** Ends the session on the server, which also clears the cookie. */
export async function endSession(): Promise<void> {
  try {
    await request('/v1/auth/sessions/current', null, { method: 'DELETE' });
  } catch {
    /* already ended */
  }
}

const ADMIN = 'bp.admin';

export function adminKey(): string | null {
  return sessionStorage.getItem(ADMIN);
}

export function saveAdminKey(key: string | null): void {
  if (key) sessionStorage.setItem(ADMIN, key);
  else sessionStorage.removeItem(ADMIN);
}
