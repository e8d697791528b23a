// Who is signed in. A customer's session lives in an HttpOnly cookie that no script can read:
// this module only asks the server whom the cookie belongs to, and ends it. Nothing secret is
// kept in the page or in storage. Staff sign in through single sign-on and get the same kind of
// cookie.

import { ApiError, request } from './api';
import { config } from './config';

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
    const me = await request<Me>('/v1/me');
    const session = me.role === 'customer' && me.customer_id ? { customerId: me.customer_id, name: me.name ?? me.customer_id } : null;
    rememberSignedIn(session !== null);
    return session;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      rememberSignedIn(false);
      return null;
    }
    throw e;
  }
}

// Whether this browser had a customer signed in when this app last asked: a hint, never a
// credential (the session is the HttpOnly cookie), used only to ask for the home's data early.
const HINT = 'bp.customer';

/** Notes whether a customer is signed in in this browser. */
function rememberSignedIn(yes: boolean): void {
  try {
    if (yes) localStorage.setItem(HINT, '1');
    else localStorage.removeItem(HINT);
  } catch {
    /* storage unavailable: no early requests */
  }
}

/** Whether a customer was signed in in this browser when last seen. */
export function probablySignedIn(): boolean {
  try {
    return localStorage.getItem(HINT) === '1';
  } catch {
    return false;
  }
}

/** Ends the session on the server, which also clears the cookie. */
export async function endSession(): Promise<void> {
  rememberSignedIn(false);
  try {
    await request('/v1/auth/sessions/current', { method: 'DELETE' });
  } catch {
    /* already ended */
  }
}

export interface Staff {
  id: string;
  name: string;
  email: string;
  role: string;
  biller_id: string | null;
}

/** The signed-in staff member (single sign-on), or null. */
export async function currentStaff(): Promise<Staff | null> {
  try {
    const me = await request<Me & { staff: Staff | null }>('/v1/me');
    return me.staff ?? null;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return null;
    throw e;
  }
}

/** Sends the browser to the staff sign-in (single sign-on); it comes back to this page. */
export async function startStaffSignIn(): Promise<void> {
  const { apiBase } = await config();
  // Back to this page: a path on the API's own site, or this page's URL when the API is elsewhere
  // (the API only returns to origins it trusts).
  const back = apiBase ? location.href : location.pathname + location.search;
  location.assign(`${apiBase}/v1/auth/oidc/start?return_to=${encodeURIComponent(back)}`);
}

/** `serve --demo` only: signs in as the demo admin with one click. */
export async function demoStaffSignIn(email: string): Promise<void> {
  await request('/v1/auth/demo-sessions', { body: { staff_email: email } });
}
